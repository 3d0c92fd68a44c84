// Package gen compiles mobile-broadband-provider-info's serviceproviders.xml into the compact Go
// table of package apn (table_gen.go). It keeps what a dialer needs to choose an APN: the GSM
// providers, their networks (MCC/MNC) and their internet APNs with credentials.
package gen

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// Provider is one GSM provider of the database with its internet APNs.
type Provider struct {
	Name     string
	Country  string // ISO 3166 alpha-2 code, lower case, as the database writes it
	Primary  bool   // the database marks it as the network's wholesale provider
	Networks []PLMN
	APNs     []APN
}

// PLMN is a network identity as the database writes it: the MNC keeps its 2 or 3 digits.
type PLMN struct{ MCC, MNC string }

// APN is one internet access point of a provider.
type APN struct {
	Value              string
	Username, Password string
	Auth               string // "", "pap" or "chap"
}

// The XML shapes of the parts of serviceproviders.xml (format 2.0) the table keeps.
type xmlDB struct {
	Format    string       `xml:"format,attr"`
	Countries []xmlCountry `xml:"country"`
}

type xmlCountry struct {
	Code      string        `xml:"code,attr"`
	Providers []xmlProvider `xml:"provider"`
}

type xmlProvider struct {
	Names   []xmlName `xml:"name"`
	Primary string    `xml:"primary,attr"`
	GSM     *struct {
		Networks []struct {
			MCC string `xml:"mcc,attr"`
			MNC string `xml:"mnc,attr"`
		} `xml:"network-id"`
		APNs []xmlAPN `xml:"apn"`
	} `xml:"gsm"`
}

type xmlName struct {
	Lang string `xml:"http://www.w3.org/XML/1998/namespace lang,attr"`
	Text string `xml:",chardata"`
}

type xmlAPN struct {
	Value string `xml:"value,attr"`
	Usage *struct {
		Type string `xml:"type,attr"`
	} `xml:"usage"`
	Username *string `xml:"username"`
	Password *string `xml:"password"`
	Auth     *struct {
		Method string `xml:"method,attr"`
	} `xml:"authentication"`
}

// Parse reads serviceproviders.xml and returns its GSM providers that name at least one network,
// in database order.
func Parse(r io.Reader) ([]Provider, error) {
	var db xmlDB
	if err := xml.NewDecoder(r).Decode(&db); err != nil {
		return nil, fmt.Errorf("gen: parse serviceproviders.xml: %w", err)
	}
	if db.Format != "2.0" {
		return nil, fmt.Errorf("gen: serviceproviders format %q, want 2.0", db.Format)
	}
	var out []Provider
	for _, c := range db.Countries {
		for _, xp := range c.Providers {
			if xp.GSM == nil || len(xp.GSM.Networks) == 0 {
				continue // CDMA only, or no network to find it by
			}
			p := Provider{
				Name:    providerName(xp.Names),
				Country: strings.TrimSpace(c.Code),
				Primary: xp.Primary == "true",
			}
			if p.Name == "" {
				return nil, fmt.Errorf("gen: a provider in country %q has no name", c.Code)
			}
			for _, n := range xp.GSM.Networks {
				id := PLMN{MCC: strings.TrimSpace(n.MCC), MNC: strings.TrimSpace(n.MNC)}
				if !digits(id.MCC, 3, 3) || !digits(id.MNC, 2, 3) {
					return nil, fmt.Errorf("gen: provider %q: network-id mcc=%q mnc=%q is not 3 and 2-3 digits", p.Name, n.MCC, n.MNC)
				}
				p.Networks = append(p.Networks, id)
			}
			for _, xa := range xp.GSM.APNs {
				if !internet(xa) {
					continue
				}
				a := APN{
					Value:    strings.TrimSpace(xa.Value),
					Username: text(xa.Username),
					Password: text(xa.Password),
				}
				if xa.Auth != nil {
					a.Auth = xa.Auth.Method
				}
				if a.Value == "" || (a.Auth != "" && a.Auth != "pap" && a.Auth != "chap") {
					return nil, fmt.Errorf("gen: provider %q: apn %q with authentication %q", p.Name, xa.Value, a.Auth)
				}
				p.APNs = append(p.APNs, a)
			}
			out = append(out, p)
		}
	}
	return out, nil
}

// internet tells whether an APN is for internet access: usage "internet" or one of the combined
// usages that include it ("mms-internet-hipri", "mms-internet-hipri-fota"); not "mms", "wap" nor
// "ia" (LTE initial attach). Entries without a usage element predate it in the database and are
// internet APNs, except the few whose name says MMS or WAP.
func internet(a xmlAPN) bool {
	if a.Usage != nil {
		switch a.Usage.Type {
		case "internet", "mms-internet-hipri", "mms-internet-hipri-fota":
			return true
		}
		return false
	}
	v := strings.ToLower(a.Value)
	return !strings.Contains(v, "wap") && !strings.Contains(v, "mms")
}

// providerName prefers the name without a language (the database's English or native default).
func providerName(names []xmlName) string {
	for _, n := range names {
		if n.Lang == "" {
			return strings.TrimSpace(n.Text)
		}
	}
	if len(names) > 0 {
		return strings.TrimSpace(names[0].Text)
	}
	return ""
}

func text(s *string) string {
	if s == nil {
		return ""
	}
	return strings.TrimSpace(*s)
}

func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
