// Package cell reads a cellular modem's signal and cell picture from its AT answers and turns it
// into one normalised [Picture]: received power in dBm, quality in dB, the access technology by a
// short name, the operator, MCC/MNC, the cell identity, the tracking or location area and the band.
//
// Each parser takes the information lines of one command's answer (the lines before OK, as an AT
// engine returns them) and fills only what that answer carries; [Picture.Merge] combines the answers
// of several commands. What a modem does not report, or reports as "not known" (27.007's 99 and
// 255, Quectel's "-", u-blox's all-f hex), stays nil and encodes as JSON null.
//
// Normalisation rules, the same for every vendor:
//   - cell, tac and lac are numbers. Modems print them in hex (+CREG, +CEREG, AT+QENG, AT+UCGED) or
//     in decimal (SIMCom's AT+CPSI? cell ID): as numbers, the same cell compares equal whichever
//     command reported it. [Picture.CellHex] gives the usual upper-case hex form.
//   - mcc and mnc are strings of digits as the modem gives them: "01" and "001" are different
//     networks, so a leading zero is kept.
//   - tech is one of GSM, UMTS, LTE, Cat-M, NB-IoT, NR ([Tech]).
//   - band is "B<n>" for E-UTRA bands (LTE, Cat-M, NB-IoT), else the modem's own band name.
//
// [Poller] runs a per-family [Plan] through the caller's AT exec and drops, for good, every command
// the modem rejects: a modem without AT+CESQ or a vendor command loses that detail, never the link.
//
// The package imports nothing from the AT engine: the integrator hands it info lines and maps the
// engine's ERROR / +CME ERROR to [ErrRejected].
package cell
