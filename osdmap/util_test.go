package osdmap

import "github.com/gomsgr/msgr/encoding"

func addrStrings(v encoding.EntityAddrVec) []string {
	var s []string
	for _, a := range v {
		s = append(s, a.String())
	}
	return s
}
