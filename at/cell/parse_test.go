package cell

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func f64(v float64) *float64 { return &v }
func tech(t Tech) *Tech      { return &t }
func str(s string) *string   { return &s }
func u32(v uint32) *uint32   { return &v }
func u64(v uint64) *uint64   { return &v }
func num(v int) *int         { return &v }

func TestParsers(t *testing.T) {
	cases := []struct {
		name  string
		parse func([]string) (Picture, error)
		in    []string
		want  Picture
	}{
		{"csq 20", ParseCSQ, []string{"+CSQ: 20,99"}, Picture{RSSIdBm: f64(-73)}},
		{"csq floor", ParseCSQ, []string{"+CSQ: 0,0"}, Picture{RSSIdBm: f64(-113), BER: num(0)}},
		{"csq ceiling", ParseCSQ, []string{"+CSQ: 31,7"}, Picture{RSSIdBm: f64(-51), BER: num(7)}},
		{"csq unknown", ParseCSQ, []string{"+CSQ: 99,99"}, Picture{}},
		{"csq among other lines", ParseCSQ, []string{"", "+CSQ: 1,99"}, Picture{RSSIdBm: f64(-111)}},

		{"cesq lte", ParseCESQ, cesqLTE, Picture{RSRQdB: f64(-4.5), RSRPdBm: f64(-79)}},
		{"cesq lte weak", ParseCESQ, cesqLTE2, Picture{RSRQdB: f64(-12.5), RSRPdBm: f64(-102)}},
		{"cesq nr values ignored", ParseCESQ, cesqNR, Picture{}},
		{"cesq nothing known", ParseCESQ, cesqNone, Picture{}},
		{"cesq rxlev", ParseCESQ, cesqGSM, Picture{RSSIdBm: f64(-94), RSRQdB: f64(-18), RSRPdBm: f64(-86)}},

		{"cops vm", ParseCOPS, copsVM, Picture{Operator: str("pppd-vm"), Tech: tech(TechLTE)}},
		{"cops numeric", ParseCOPS, copsNumeric, Picture{Operator: str("46011"), MCC: str("460"), MNC: str("11"), Tech: tech(TechLTE)}},
		{"cops edge", ParseCOPS, copsEDGE, Picture{Operator: str("Telekom.de 1nce.net"), Tech: tech(TechGSM)}},
		{"cops not registered", ParseCOPS, copsNone, Picture{}},

		{"qeng ec2x lte", ParseQENG, qengEC2x, Picture{Tech: tech(TechLTE), MCC: str("460"), MNC: str("00"),
			Cell: u64(0x8F381C5), Band: str("B3"), TAC: u32(0x3193),
			RSRPdBm: f64(-98), RSRQdB: f64(-13), RSSIdBm: f64(-70), SINRdB: f64(-3)}},
		{"qeng lte dashes after sinr", ParseQENG, qengMikroTik, Picture{Tech: tech(TechLTE), MCC: str("216"), MNC: str("70"),
			Cell: u64(0x127328), Band: str("B1"), TAC: u32(0xD17),
			RSRPdBm: f64(-104), RSRQdB: f64(-9), RSSIdBm: f64(-77), SINRdB: f64(18)}},
		{"qeng searching", ParseQENG, qengSearch, Picture{}},
		{"qeng gsm manual", ParseQENG, qengGSMIdle, Picture{Tech: tech(TechGSM), MCC: str("460"), MNC: str("01"),
			LAC: u32(0x5504), Cell: u64(0x2B55), Band: str("GSM900"), RSSIdBm: f64(-111)}},
		{"qeng bg96 gsm", ParseQENG, qengBG96GSM, Picture{Tech: tech(TechGSM), MCC: str("250"), MNC: str("99"),
			LAC: u32(0xDC51), Cell: u64(0xB919), Band: str("GSM900"), RSSIdBm: f64(-73)}},
		{"qeng bg96 cat-m", ParseQENG, qengBG96CatM, Picture{Tech: tech(TechCatM), MCC: str("262"), MNC: str("03"),
			Cell: u64(0x2FAA03), Band: str("B20"), TAC: u32(0x2AFB),
			RSRPdBm: f64(-105), RSRQdB: f64(-11), RSSIdBm: f64(-76), SINRdB: f64(10)}},
		{"qeng wcdma", ParseQENG, qengWCDMA, Picture{Tech: tech(TechUMTS), MCC: str("515"), MNC: str("03"),
			LAC: u32(0x3AB2), Cell: u64(0xB55EEFF)}},
		{"qeng en-dc", ParseQENG, qengENDC, Picture{Tech: tech(TechLTE), MCC: str("460"), MNC: str("01"),
			Cell: u64(0x5F1EA15), Band: str("B3"), TAC: u32(0xDE10),
			RSRPdBm: f64(-99), RSRQdB: f64(-12), RSSIdBm: f64(-67), SINRdB: f64(11)}},

		{"cpsi manual lte", ParseCPSI, cpsiManual, Picture{Tech: tech(TechLTE), MCC: str("404"), MNC: str("45"),
			TAC: u32(0x21F9), Cell: u64(322642), Band: str("B40"),
			RSRQdB: f64(-16.8), RSRPdBm: f64(-112.6), RSSIdBm: f64(-77.3), SINRdB: f64(7)}},
		{"cpsi lte", ParseCPSI, cpsiLTE, Picture{Tech: tech(TechLTE), MCC: str("250"), MNC: str("20"),
			TAC: u32(0x4D07), Cell: u64(200468759), Band: str("B7"),
			RSRQdB: f64(-6.9), RSRPdBm: f64(-90), RSSIdBm: f64(-66.1), SINRdB: f64(20)}},
		{"cpsi wcdma", ParseCPSI, cpsiWCDMA, Picture{Tech: tech(TechUMTS), MCC: str("310"), MNC: str("410"),
			LAC: u32(0xD8DF), Cell: u64(57659107), Band: str("WCDMA 850")}},
		{"cpsi gsm", ParseCPSI, cpsiGSM, Picture{Tech: tech(TechGSM), MCC: str("460"), MNC: str("00"),
			LAC: u32(0x182D), Cell: u64(12401), Band: str("EGSM 900"), RSSIdBm: f64(-64)}},
		{"cpsi no service", ParseCPSI, cpsiNone, Picture{}},

		{"ucged r4 mode 5", ParseUCGED, ucgedR4, Picture{RSRPdBm: f64(-75), RSRQdB: f64(-14.2)}},
		{"ucged r5 mode 2", ParseUCGED, ucgedR5, Picture{Tech: tech(TechCatM), MCC: str("001"), MNC: str("01"),
			Band: str("B5"), TAC: u32(0xE8FE), Cell: u64(0x1A2D001), RSRPdBm: f64(-113), RSRQdB: f64(-4.5), SINRdB: f64(13.75)}},
		{"ucged r5 not camped", ParseUCGED, ucgedR5Off, Picture{Tech: tech(TechCatM), Band: str("B13"),
			RSRPdBm: f64(-114), RSRQdB: f64(-12.5), SINRdB: f64(0.5)}},
		{"ucged r5 nothing known", ParseUCGED, ucgedR5Nil, Picture{Tech: tech(TechCatM)}},
		{"ucged r422", ParseUCGED, ucgedR422, Picture{Tech: tech(TechCatM), MCC: str("310"), MNC: str("410"),
			Band: str("B12"), TAC: u32(0x830E), RSRPdBm: f64(-86), RSRQdB: f64(-14)}},

		{"cereg answer", ParseRegistrationAnswer, []string{ceregEC2x}, Picture{Tech: tech(TechLTE), TAC: u32(0x3193), Cell: u64(0x8F381C5)}},
		{"creg lte act: area is a tac", ParseRegistrationAnswer, []string{`+CREG: 2,1,"FFFE","76340C",7`},
			Picture{Tech: tech(TechLTE), TAC: u32(0xFFFE), Cell: u64(0x76340C)}},
		{"cgreg umts", ParseRegistrationAnswer, []string{`+CGREG: 2,5,"D509","80D413D",2`},
			Picture{Tech: tech(TechUMTS), LAC: u32(0xD509), Cell: u64(0x80D413D)}},
		{"creg n=0", ParseRegistrationAnswer, []string{"+CREG: 0,1"}, Picture{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse(c.in)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
}

// The same cell, read from +CEREG and from AT+QENG, is the same number.
func TestCellAgreesAcrossCommands(t *testing.T) {
	q, err := ParseQENG(qengEC2x)
	require.NoError(t, err)
	r, err := ParseRegistrationAnswer([]string{ceregEC2x})
	require.NoError(t, err)
	require.NotNil(t, q.Cell)
	assert.Equal(t, *q.Cell, *r.Cell)
	assert.Equal(t, *q.TAC, *r.TAC)
	assert.Equal(t, "8F381C5", q.CellHex())
}

func TestParsersRefuseMalformed(t *testing.T) {
	cases := []struct {
		name  string
		parse func([]string) (Picture, error)
		in    []string
	}{
		{"csq missing", ParseCSQ, []string{"OK"}},
		{"csq one value", ParseCSQ, []string{"+CSQ: 20"}},
		{"csq words", ParseCSQ, []string{"+CSQ: x,y"}},
		{"cesq short", ParseCESQ, []string{"+CESQ: 99,99,255"}},
		{"cesq words", ParseCESQ, []string{"+CESQ: a,b,c,d,e,f"}},
		{"cops words", ParseCOPS, []string{`+COPS: x,0,"a",7`}},
		{"cops act words", ParseCOPS, []string{`+COPS: 0,0,"a",x`}},
		{"qeng missing", ParseQENG, []string{`+QENG: "neighbourcell intra","LTE",1650,121,-14,-100,-70,10`}},
		{"qeng lte short", ParseQENG, []string{`+QENG: "servingcell","NOCONN","LTE","FDD",460,00`}},
		{"cpsi missing", ParseCPSI, []string{"+CSQ: 1,1"}},
		{"cpsi lte short", ParseCPSI, []string{"+CPSI: LTE,Online,404-45,0x21F9,322642,453"}},
		{"ucged missing", ParseUCGED, []string{"OK"}},
		{"ucged mode 0", ParseUCGED, []string{"+UCGED: 0"}},
		{"ucged short", ParseUCGED, []string{"+UCGED: 2", "6,4,001,01"}},
		{"ucged lte short", ParseUCGED, []string{"+UCGED: 2", "6,4,001,01", "2525,5,50"}},
		{"reg missing", ParseRegistrationAnswer, []string{"+CSQ: 1,1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.parse(c.in)
			require.ErrorIs(t, err, ErrMalformed)
			assert.True(t, got.IsZero())
		})
	}
}

func TestRegistration(t *testing.T) {
	cases := []struct {
		line string
		want Registration
	}{
		{ceregEC2x, Registration{Command: "+CEREG", Solicited: true, N: 2, Stat: 1, State: RegHome,
			Area: u32(0x3193), CI: u64(0x8F381C5), AcT: 7}},
		{"+CREG: 0,5", Registration{Command: "+CREG", Solicited: true, N: 0, Stat: 5, State: RegRoaming, AcT: -1}},
		{"+CEREG: 0,3", Registration{Command: "+CEREG", Solicited: true, N: 0, Stat: 3, State: RegDenied, AcT: -1}},
		{"+CREG: 2,0", Registration{Command: "+CREG", Solicited: true, N: 2, Stat: 0, State: RegNotRegistered, AcT: -1}},
		// URCs (27.007 §7.2: n=1 "<stat>", n=2 "<stat>[,[<lac>],[<ci>],[<AcT>]]").
		{"+CREG: 5", Registration{Command: "+CREG", N: -1, Stat: 5, State: RegRoaming, AcT: -1}},
		{"+CEREG: 2", Registration{Command: "+CEREG", N: -1, Stat: 2, State: RegSearching, AcT: -1}},
		{`+CEREG: 1,"3193","08F381C5",7`, Registration{Command: "+CEREG", N: -1, Stat: 1, State: RegHome,
			Area: u32(0x3193), CI: u64(0x8F381C5), AcT: 7}},
		{`+CGREG: 5,"D509","80D413D",2`, Registration{Command: "+CGREG", N: -1, Stat: 5, State: RegRoaming,
			Area: u32(0xD509), CI: u64(0x80D413D), AcT: 2}},
		{`+CREG: 1,"1A2B","3C4D"`, Registration{Command: "+CREG", N: -1, Stat: 1, State: RegHome,
			Area: u32(0x1A2B), CI: u64(0x3C4D), AcT: -1}}, // SIM800: no <AcT>
		{"+CEREG: 4", Registration{Command: "+CEREG", N: -1, Stat: 4, State: RegUnknown, AcT: -1}},
		{"+CREG: 9", Registration{Command: "+CREG", N: -1, Stat: 9, State: RegHome, AcT: -1}},
		{"+CREG: 6", Registration{Command: "+CREG", N: -1, Stat: 6, State: RegHomeSMSOnly, AcT: -1}},
		{"+CEREG: 8", Registration{Command: "+CEREG", N: -1, Stat: 8, State: RegEmergency, AcT: -1}},
		{`+CEREG: 1,"FFFF","FFFFFFFF",7`, Registration{Command: "+CEREG", N: -1, Stat: 1, State: RegHome, AcT: 7}},
	}
	for _, c := range cases {
		t.Run(c.line, func(t *testing.T) {
			got, err := ParseRegistration(c.line)
			require.NoError(t, err)
			assert.Equal(t, c.want, got)
		})
	}
	r, _ := ParseRegistration("+CREG: 5")
	assert.True(t, r.Registered())
	assert.True(t, r.Roaming())
	r, _ = ParseRegistration("+CREG: 6")
	assert.False(t, r.Registered())

	for _, bad := range []string{"+CSQ: 1,1", "+CREG:", "+CREG: x", `+CREG: 1,"zz","1"`, `+CREG: 1,"1","zz"`,
		`+CREG: 1,"1","1",x`, `+CREG: "1"`, "+CREG: -1"} {
		_, err := ParseRegistration(bad)
		assert.ErrorIs(t, err, ErrMalformed, bad)
	}
}

func TestMergeLaterWins(t *testing.T) {
	csq, _ := ParseCSQ([]string{"+CSQ: 20,99"})
	q, _ := ParseQENG(qengEC2x)
	p := csq.Merge(q)
	assert.Equal(t, -70.0, *p.RSSIdBm, "the vendor's finer RSSI, polled later, wins")
	p2 := q.Merge(Picture{})
	assert.Equal(t, q, p2, "an empty answer takes nothing away")
	// Merge copies: changing the merged picture leaves the sources alone.
	*p.RSSIdBm = 0
	assert.Equal(t, -70.0, *q.RSSIdBm)
}

func TestPictureJSON(t *testing.T) {
	p, err := ParseCSQ([]string{"+CSQ: 20,99"})
	require.NoError(t, err)
	c, err := ParseCOPS(copsVM)
	require.NoError(t, err)
	b, err := json.Marshal(p.Merge(c))
	require.NoError(t, err)
	assert.JSONEq(t, `{"rssi_dbm":-73,"ber":null,"rsrp_dbm":null,"rsrq_db":null,"sinr_db":null,
		"tech":"LTE","operator":"pppd-vm","mcc":null,"mnc":null,"cell":null,"tac":null,"lac":null,"band":null}`, string(b))
}

func TestAcT(t *testing.T) {
	for act, want := range map[int]Tech{0: TechGSM, 3: TechGSM, 2: TechUMTS, 6: TechUMTS, 7: TechLTE,
		8: TechCatM, 9: TechNBIoT, 12: TechNR} {
		got, ok := TechFromAcT(act)
		assert.True(t, ok)
		assert.Equal(t, want, got, act)
	}
	_, ok := TechFromAcT(99)
	assert.False(t, ok)
	assert.Equal(t, "HSPA", AcTName(6))
	assert.Equal(t, "LTE-M", AcTName(8))
	assert.Equal(t, "", AcTName(-1))
	assert.Equal(t, "", AcTName(14))
}
