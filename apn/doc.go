// Package apn finds the APN for a SIM without asking the user: it reads the network (MCC and MNC)
// from the SIM's IMSI, looks it up in the mobile-broadband-provider-info database (compiled into
// the package, so no package needs to be installed), and returns the candidates to try in order,
// ending with the network's default (an empty APN written with AT+CGDCONT). The candidate that
// worked is remembered in a state directory so the next start tries it first.
//
// The database is Debian's mobile-broadband-provider-info (public domain), compiled by
// apn/internal/cmd/apngen into table_gen.go; DBVersion names the version.
package apn

//go:generate go run ./internal/cmd/apngen -o table_gen.go
