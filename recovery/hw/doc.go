// Package hw holds the recovery steps that need no AT engine: pulses on the modem's reset and
// power lines through the GPIO character device, the modem's USB device reauthorised or its hub
// port power-cycled through sysfs, and waiting for a device path to come back after a reset.
// Each step is a recovery.Actuator; the hardware sits behind small interfaces so tests use fakes.
package hw
