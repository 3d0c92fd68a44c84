package cell

// Real answers, by source. Each is a modem's answer as a vendor manual prints it or as a public
// transcript of the modem recorded it; the tests and the fuzz seed corpus share them.
var (
	// 3GPP TS 27.007 §8.69 +CESQ, as nRF9160 (Nordic AT commands reference, "+CESQ") and a
	// SARA-R5 driver's test record them; the 9-value form carries the NR values too.
	cesqLTE   = []string{"+CESQ: 99,99,255,255,31,62"}
	cesqLTE2  = []string{"+CESQ: 99,99,255,255,15,39"}
	cesqNR    = []string{"+CESQ: 99,99,255,255,255,255,65,75,75"}
	cesqNone  = []string{"+CESQ: 99,99,255,255,255,255"}
	cesqGSM   = []string{"+CESQ: 17,99,255,255,4,55,75,52,57"} // Fibocom FM350 diagnostic fixture
	qengEC2x  = []string{`+QENG: "servingcell","NOCONN","LTE","FDD",460,00,8F381C5,107,1300,3,5,5,3193,-98,-13,-70,-3,0,0,21`}
	ceregEC2x = `+CEREG: 2,1,"3193","08F381C5",7` // the same modem's +CEREG? a moment before

	// Quectel LTE module in a MikroTik log (pastebin 2a9WR5hT): EC2x layout with <CQI>,<tx_power>,<srxlev> as "-".
	qengMikroTik = []string{`+QENG: "servingcell","NOCONN","LTE","FDD",216,70,127328,189,476,1,3,3,D17,-104,-9,-77,18,-,-,-`}
	// Quectel EC2x-family AT Commands Manual, AT+QENG examples.
	qengSearch  = []string{`+QENG: "servingcell","SEARCH"`}
	qengGSMIdle = []string{`+QENG:"servingcell","NOCONN","GSM",460,01,5504,2B55,52,123,0,-111,5,14,64,0,0,0,-,-,-,-,-,-,-,-,-,"-"`}
	// BG96 (Electric Imp BG96 driver, comments with the modem's answers).
	qengBG96GSM  = []string{`+QENG: "servingcell","NOCONN","GSM",250,99,DC51,B919,26,50,-,-73,255,255,0,38,38,1,-,-,-,-,-,-,-,-,-,"-"`}
	qengBG96CatM = []string{`+QENG: "servingcell","CONNECT","CAT-M","FDD",262,03,2FAA03,187,6200,20,3,3,2AFB,-105,-11,-76,10,-`}
	// Quectel WCDMA answer (a Quectel driver's comment, e.g. line).
	qengWCDMA = []string{`+QENG: "servingcell","NOCONN","WCDMA",515,03,3AB2,B55EEFF,3037,352,1,-94,-15,-,-,-,-,-`}
	// Quectel RM5xx EN-DC answer (a test suite quoting the module).
	qengENDC = []string{
		`+QENG: "servingcell","NOCONN"`,
		`+QENG: "LTE","FDD",460,01,5F1EA15,12,1650,3,5,5,DE10,-99,-12,-67,11,9,230,-`,
		`+QENG:"NR5G-NSA",460,01,747,-71,33,-11,627264,78,12,1`,
	}

	// SIM7500/SIM7600 Series AT Command Manual V1.08 (as quoted with its sample).
	cpsiManual = []string{"+CPSI: LTE,Online,404-45,0x21F9,322642,453,EUTRAN-BAND40,39275,4,4,-168,-1126,-773,7"}
	// SIM7600 answers recorded by users' parsers.
	cpsiLTE   = []string{"+CPSI: LTE,Online,250-20,0x4D07,200468759,468,EUTRAN-BAND7,3400,3,3,-69,-900,-661,20"}
	cpsiWCDMA = []string{"+CPSI: WCDMA,Online,310-410,0xD8DF,57659107,WCDMA 850,354,4385,0,5.5,55,37,60,500"}
	cpsiGSM   = []string{"+CPSI: GSM,Online,460-00,0x182d,12401,27 EGSM 900,-64,2110,42-42"}
	cpsiNone  = []string{"+CPSI: NO SERVICE,Online"}

	// u-blox: SARA-R4 mode 5 (a Particle device-OS parser's comment), SARA-R5 and SARA-R422
	// mode 2 (ubxlib cell/src/u_cell_info.c), SARA-R5 not camped (a user's capture).
	ucgedR4    = []string{`+RSRP: 162,5110,"-075.00",`, `+RSRQ: 162,5110,"-14.20",`}
	ucgedR5    = []string{"+UCGED: 2", "6,4,001,01", "2525,5,50,50,e8fe,1a2d001,1,d60814d1,8001,01,28,31,13.75,3,1,10,28,-50,-6,0,255,255,0"}
	ucgedR5Off = []string{"+UCGED: 2", "6,4,fff,fff", "5110,13,50,50,ffff,0000000,254,d0fafd59,ff49,b1,27,15,0.50,1,255,255,28,255,255,0,255,255,0"}
	ucgedR5Nil = []string{"+UCGED: 2", "6,2,fff,fff", "65535,255,255,255,ffff,0000000,65535,00000000,ffff,ff,255,255,255,1,255,255,255,255,255,0,255,255,0"}
	ucgedR422  = []string{"+UCGED: 2", "6,310,410", `5110,12,10,10,830e,162,-86,-14,131,-1,3,255,128,"FB306E02"`}

	// +COPS? (27.007 §7.3): the pppd-vm modem, the SIM7600 manual's numeric example, SIM7000 on 1NCE.
	copsVM      = []string{`+COPS: 0,0,"pppd-vm",7`}
	copsNumeric = []string{`+COPS: 0,2,"46011",7`}
	copsEDGE    = []string{`+COPS: 0,0,"Telekom.de 1nce.net",3`}
	copsNone    = []string{`+COPS: 0`}
)
