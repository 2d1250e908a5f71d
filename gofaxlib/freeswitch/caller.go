package freeswitch

import "strings"

// maxCallerNumberLen bounds a number from a call's channel data (recipient,
// caller ID, gateway name): E.164 numbers have at most 15 digits;
// extensions, prefixes and service codes fit in 32.
const maxCallerNumberLen = 32

// CallerNumber checks a number a caller controls (the recipient or caller
// ID of an inbound call, from SIP headers and channel variables): an
// optional leading '+', then digits, letters, '*', '#', '-', '.', '_'; at
// most 32 bytes after trimming blanks. Such a string is safe in argv,
// xferfaxlog, FIFO records and log lines. Unlike CleanNumber, which makes
// a dialable number for a dial string, it changes nothing but the blanks
// around it.
func CallerNumber(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxCallerNumberLen {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '*' || c == '#' || c == '-' || c == '.' || c == '_':
		case c == '+' && i == 0:
		default:
			return "", false
		}
	}
	return s, true
}
