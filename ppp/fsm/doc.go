// Package fsm is the RFC 1661 section 4 option-negotiation automaton, written once and shared
// by every PPP control protocol (LCP, IPCP, IPV6CP).
//
// Why a separate package: the automaton is the part of PPP where implementations go wrong in
// subtle ways (crossed Configure-Requests, counters that never run out, a Nak loop that never
// converges), and every control protocol needs exactly the same one. Keeping it apart from the
// option rules lets it be tested cell by cell against the RFC's state transition table, and lets
// each protocol supply only what differs: its options (the Rules interface) and what happens when
// the layer goes up or down (the Layer interface).
//
// The automaton does no I/O and starts no goroutines. Packets come in through Input, time comes
// in as an argument (now) to every event that may start the restart timer, and Tick(now) fires
// the timer; packets go out through a send function given to New. The owner of an FSM must call
// it from one goroutine only.
package fsm
