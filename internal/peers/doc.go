// Package peers starts real PPP implementations this project did not write, for interop tests:
// Debian's slirp (`slirp-fullbolt ppp`, a userspace PPP server with NAT to the host) and pppd
// 2.4.9 over the Linux kernel's ppp_async driver in a small qemu VM (../shared/peers/pppd-vm).
//
// Each peer is reached through a pseudo-terminal in raw mode, wrapped in a *Port (an
// io.ReadWriteCloser with deadlines), exactly as a modem's UART would be.
//
// The project rule for interop tests: when a peer is not installed the test is skipped with the
// reason; when the environment has PPP_INTEROP=1 (CI) a missing peer fails the test instead.
// Slirp, PPPDVM and Tool apply it; Interop is the rule itself for anything else a test needs.
//
// Both peers are passive: they send nothing until they receive a first LCP Configure-Request
// (slirp answers with its own Configure-Request; pppd runs with `passive`).
package peers
