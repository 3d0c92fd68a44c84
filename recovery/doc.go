// Package recovery is the escalating recovery ladder of a cellular link, as a policy without I/O
// and a runner for its steps.
//
// The ladder climbs redial -> radio-reset -> modem-reset -> reset-gpio -> power-gpio ->
// usb-reset, with only the steps a setup can run on it. A [Policy] decides, from what the last
// step did and what the health probes say, which step runs next and after what wait; [Ladder]
// is the default policy and a gateway can bring its own. A [Runner] runs one step through its
// [Actuator] under a per-step timeout and turns the result into an [Event] the session emits
// (JSON event `recovery`) and counts. The actuators that need no AT engine (GPIO pulses, USB
// re-authorisation, waiting for a device path) are in package recovery/hw.
package recovery
