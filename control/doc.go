// Package control is the daemon's unix control socket: `pppdial status`, `pppdial redial` and
// `pppdial at` ask a running daemon instead of touching the modem under it.
//
// [Listen] creates the socket safely (default [DefaultPath], /run/pppdial/<ifname>.sock, mode
// 0660): it refuses a directory anyone may write to without the sticky bit, never follows or
// replaces a symlink or a file that is not a socket, replaces the stale socket of a dead
// daemon (connecting to it is refused) and refuses a live one with [ErrInUse]. The socket is
// bound under a temporary name, given its mode, then hard-linked to its path, so it is never
// reachable with looser permissions and never replaces anything put there meanwhile; the check
// of what is at the path and the link run under a flock(2) of the directory, so two daemons
// starting together cannot both take a stale socket's place.
//
// A [Server] answers on any net.Listener for one or more links (a process running pp0 and pp1
// serves both on one socket), each registered with its [Handlers]: callbacks into the session
// for its [Status], a redial and its AT channel. It is bounded: at most MaxClients connections,
// requests of at most MaxRequestBytes, an idle deadline per connection and a timeout per request.
//
// The protocol is line-delimited JSON, one request line answered by one response line, any
// number per connection:
//
//	{"op":"status","ifname":"pp0"}            -> {"ok":true,"status":{...}}
//	{"op":"list"}                             -> {"ok":true,"links":[{...},{...}]}
//	{"op":"redial","ifname":"pp0"}            -> {"ok":true}
//	{"op":"at","ifname":"pp0","cmds":["AT+CSQ"]} -> {"ok":true,"at":[{"cmd":"AT+CSQ","lines":["+CSQ: 20,99"]}]}
//	anything wrong                            -> {"ok":false,"code":"no-link","error":"..."}
//
// An empty ifname names the only link, or the first registered. A [Client] ([Dial]) speaks it;
// with no daemon listening Dial fails with an error matching [ErrNoDaemon].
//
// The socket's mode is the authorisation: whoever may connect may run AT commands on the
// modem. The server logs operations and link names, never AT commands (one may carry a PIN).
package control
