// Package usage counts the data a SIM uses, per billing period, in a state
// file that survives redials, restarts and a kill -9.
//
// A [Meter] belongs to one SIM, named by its ICCID (AT+CCID, AT+QCCID or
// AT+ICCID). [Open] loads the SIM's state file from a state directory
// (pppdial's --state-dir, /var/lib/pppdial by default), checks it, and sets
// it aside when it is corrupt or belongs to another SIM: such a file is
// reported through [Meter.LoadWarning] and the log, renamed to
// <name>.corrupt-<timestamp> so nothing is lost, and never trusted.
//
// PPP byte counters start again at zero with every link, so the session
// feeds the meter through a [Link] per link: [Meter.NewLink] when a link
// comes up, [Link.Observe] with that link's cumulative counters whenever it
// likes, [Link.End] with its final counters when it goes down. Each Link
// keeps its own baseline, so a redial neither loses nor counts bytes twice,
// and a late Observe of an ended link is ignored.
//
// The counters are kept for the current and the previous billing period.
// A period starts at local midnight (in the location of the meter's clock)
// on the billing day of the month, or on the month's last day when the
// month is shorter. With a quota, [Link.Observe] reports the period's 80 %
// and 100 % marks once each per period (and once again after a restart, so
// a "stop at quota" policy holds across restarts); what to do about them is
// the caller's decision.
//
// [Meter.Flush] writes the state file atomically: a temporary file in the
// same directory, fsync, rename over the old file, fsync of the directory.
// [Meter.Run] flushes on an interval and once more when its context ends,
// so a kill -9 loses at most one interval's bytes.
package usage
