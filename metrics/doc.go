// Package metrics exports pppdial's links to Prometheus: a [Collector] a gateway registers in its
// own registry, and [ListenAndServe] for the daemon's --metrics ADDR.
//
// One Collector holds every link of a process, one [Link] per interface name (pp0, pp1, ...). The
// session pushes what it learns as it happens — the link went up, the phase changed, a redial
// and its reason, a recovery step and its result, an LCP echo round trip, the signal picture,
// the registration, the modem's identity — and the Collector pulls the rest at scrape time:
// the link's byte, packet and frame-error counters through a func the session sets
// ([Link.SetCounters]), and the SIM's data usage through a [UsageSource] (a *usage.Meter).
// Nothing here starts a goroutine; a scrape reads under the Link's lock and returns.
//
// The exported families (all per Prometheus naming conventions, base units):
//
//	pppdial_link_up{ifname}                          gauge 1 while the link carries IP
//	pppdial_link_state{ifname,phase}                 gauge, one series per phase, 1 for the current
//	pppdial_redials_total{ifname,reason}             counter
//	pppdial_recovery_steps_total{ifname,step,result} counter (every ladder step x ok/failed from 0)
//	pppdial_lcp_echo_rtt_seconds{ifname}             histogram, buckets for cellular round trips
//	pppdial_bytes_total{ifname,direction}            counter, IP bytes, direction rx or tx
//	pppdial_packets_total{ifname,direction}          counter, IP packets
//	pppdial_frame_errors_total{ifname,kind}          counter, kind fcs, abort, too_long, runt,
//	                                                 bad_protocol, discarded
//	pppdial_signal_rssi_dbm{ifname}                  gauge; absent while not known
//	pppdial_signal_rsrp_dbm{ifname}                  gauge; absent while not known
//	pppdial_signal_rsrq_db{ifname}                   gauge; absent while not known
//	pppdial_signal_sinr_db{ifname}                   gauge; absent while not known
//	pppdial_registered{ifname}                       gauge 1 registered (home or roaming), 0 not;
//	                                                 absent until reported
//	pppdial_usage_bytes{iccid,period,direction}      gauge, period current or previous
//	pppdial_usage_quota_bytes{iccid}                 gauge, only with a quota
//	pppdial_modem_info{ifname,imei,iccid,model,revision,operator,tech}  gauge 1 (IMSI never)
//
// The byte and packet counters stay monotonic across redials: each link's counters start at
// zero, so when the session gives a Link a new source the old one's last values are kept as a
// base, and a source whose counter goes backwards is taken to have restarted.
//
// The package imports net/http (client_golang does, through its exposition format), so the
// library's root package must not import it: the daemon and gateways wire a session's events to
// a Link.
package metrics
