package esl

// FreeSWITCH URL-encodes header values in text/event-plain bodies and in
// the outbound-socket connect reply. It escapes bytes below 0x20, above
// 0x7E and these: CR LF space # % & + : ; < = > ? @ [ \ ] ^ ` { | } "
// as %XX with upper-case hex digits. Decoding turns each valid %XX back
// into its byte and leaves any other '%' alone.
//
// FreeSWITCH itself leaves a '%' that already starts a valid %XX
// unescaped; we always escape '%', so that decoding our output gives the
// original value back. The two agree on every value in the captures.

const upperHex = "0123456789ABCDEF"

var urlUnsafe = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c < 0x20 || c > 0x7E
	}
	for _, c := range []byte("\r\n #%&+:;<=>?@[\\]^`{|}\"") {
		t[c] = true
	}
	return t
}()

// URLEncode escapes s as FreeSWITCH escapes event header values.
func URLEncode(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if urlUnsafe[s[i]] {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	return string(appendURLEncoded(b, s))
}

func appendURLEncoded(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if urlUnsafe[c] {
			b = append(b, '%', upperHex[c>>4], upperHex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return b
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// URLDecode reverses URLEncode. It never fails: a '%' not followed by
// two hex digits is kept as it is, as FreeSWITCH does.
func URLDecode(s string) string {
	i := 0
	for i < len(s) && s[i] != '%' {
		i++
	}
	if i == len(s) {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			hi, ok1 := unhex(s[i+1])
			lo, ok2 := unhex(s[i+2])
			if ok1 && ok2 {
				b = append(b, hi<<4|lo)
				i += 2
				continue
			}
		}
		b = append(b, c)
	}
	return string(b)
}

// DecodeHeaders returns a copy of h with every value URL-decoded, as for
// the header block of the outbound-socket connect reply.
func DecodeHeaders(h Headers) Headers { return mapValues(h, URLDecode) }

// EncodeHeaders returns a copy of h with every value URL-encoded.
func EncodeHeaders(h Headers) Headers { return mapValues(h, URLEncode) }

// mapValues returns a copy of h with f applied to every value.
func mapValues(h Headers, f func(string) string) Headers {
	out := make(Headers, len(h))
	for i, x := range h {
		out[i] = Header{Name: x.Name, Value: f(x.Value)}
	}
	return out
}
