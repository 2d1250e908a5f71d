package esltest

import (
	"errors"
	"fmt"
	"strings"

	"github.com/gofaxserver/gofaxserver/gofaxlib/esl"
)

// ErrDialString means an originate's dial string is malformed.
var ErrDialString = errors.New("esltest: malformed dial string")

// Originate is a parsed "originate <dial string> <application>".
type Originate struct {
	Vars      esl.Headers // the global {..} block
	Legs      [][]DialLeg // failover groups ('|'), each simultaneous legs (',')
	App       string      // "txfax" for "&txfax(/file)"
	AppArg    string
	Extension string // when the second argument is not an &application
}

// DialLeg is one leg of a dial string.
type DialLeg struct {
	Vars        esl.Headers // the leg's [..] block
	DialString  string      // endpoint string, e.g. sofia/gateway/gw1/5551234
	Destination string      // number part
	Gateway     string      // gateway name for sofia/gateway/...
}

// ParseOriginate parses originate's arguments with FreeSWITCH's quoting
// rules: {k=v,...} and [k=v,...] blocks whose values may be single-quoted
// (then commas and spaces are literal), ',' between simultaneous legs, '|'
// between failover groups, and "&app(arg)" as the application.
func ParseOriginate(args string) (*Originate, error) {
	dial, rest, err := splitArg(strings.TrimSpace(args))
	if err != nil {
		return nil, err
	}
	app, _, err := splitArg(strings.TrimSpace(rest))
	if err != nil {
		return nil, err
	}
	o := &Originate{}
	if a, ok := strings.CutPrefix(app, "&"); ok {
		name, arg, ok := strings.Cut(a, "(")
		if !ok || !strings.HasSuffix(arg, ")") || name == "" {
			return nil, fmt.Errorf("%w: application %q", ErrDialString, app)
		}
		o.App, o.AppArg = name, strings.TrimSuffix(arg, ")")
	} else {
		o.Extension = app
	}
	if strings.HasPrefix(dial, "{") {
		end, err := closing(dial, '{', '}')
		if err != nil {
			return nil, err
		}
		if o.Vars, err = parseVars(dial[1:end]); err != nil {
			return nil, err
		}
		dial = dial[end+1:]
	}
	for _, group := range splitTop(dial, '|') {
		var legs []DialLeg
		for _, s := range splitTop(group, ',') {
			leg, err := parseLeg(s)
			if err != nil {
				return nil, err
			}
			legs = append(legs, leg)
		}
		o.Legs = append(o.Legs, legs)
	}
	if len(o.Legs) == 0 {
		return nil, fmt.Errorf("%w: no endpoint", ErrDialString)
	}
	return o, nil
}

// nesting follows single quotes and the depth of the brackets it counts
// through a dial string.
type nesting struct {
	open, close string // the brackets counted
	depth       int
	quoted      bool
}

// next accounts for c and reports whether c is plain text: outside quotes
// and neither a quote nor a counted bracket.
func (n *nesting) next(c byte) bool {
	switch {
	case c == '\'':
		n.quoted = !n.quoted
	case n.quoted:
	case strings.IndexByte(n.open, c) >= 0:
		n.depth++
	case strings.IndexByte(n.close, c) >= 0:
		n.depth--
	default:
		return true
	}
	return false
}

// splitArg returns the first space-separated argument, honouring braces,
// brackets and single quotes.
func splitArg(s string) (string, string, error) {
	n := nesting{open: "{[<(", close: "}]>)"}
	for i := 0; i < len(s); i++ {
		if n.next(s[i]) && s[i] == ' ' && n.depth == 0 {
			return s[:i], s[i+1:], nil
		}
		if n.depth < 0 {
			return "", "", fmt.Errorf("%w: unbalanced %q", ErrDialString, s)
		}
	}
	if n.quoted || n.depth != 0 {
		return "", "", fmt.Errorf("%w: unbalanced %q", ErrDialString, s)
	}
	return s, "", nil
}

// closing returns the index of the bracket closing s[0].
func closing(s string, open, close byte) (int, error) {
	n := nesting{open: string(open), close: string(close)}
	for i := 0; i < len(s); i++ {
		n.next(s[i])
		if s[i] == close && !n.quoted && n.depth == 0 {
			return i, nil
		}
	}
	return 0, fmt.Errorf("%w: unclosed %c in %q", ErrDialString, open, s)
}

// splitTop splits s at sep outside brackets and quotes.
func splitTop(s string, sep byte) []string {
	var out []string
	n := nesting{open: "[{<", close: "]}>"}
	start := 0
	for i := 0; i < len(s); i++ {
		if n.next(s[i]) && s[i] == sep && n.depth == 0 {
			if part := strings.TrimSpace(s[start:i]); part != "" {
				out = append(out, part)
			}
			start = i + 1
		}
	}
	if part := strings.TrimSpace(s[start:]); part != "" {
		out = append(out, part)
	}
	return out
}

// parseVars parses "k=v,k2='v,2'" into headers, unquoting values.
func parseVars(s string) (esl.Headers, error) {
	var hs esl.Headers
	for _, item := range splitTop(s, ',') {
		k, v, ok := strings.Cut(item, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("%w: variable %q", ErrDialString, item)
		}
		if strings.HasPrefix(v, "'") {
			if len(v) < 2 || !strings.HasSuffix(v, "'") || strings.Contains(v[1:len(v)-1], "'") {
				return nil, fmt.Errorf("%w: quoting in %q", ErrDialString, item)
			}
			v = v[1 : len(v)-1]
		} else if strings.ContainsAny(v, "'{}[]") {
			return nil, fmt.Errorf("%w: unquoted special character in %q", ErrDialString, item)
		}
		hs = append(hs, esl.Header{Name: strings.TrimSpace(k), Value: v})
	}
	return hs, nil
}

// parseLeg parses "[vars]endpoint".
func parseLeg(s string) (DialLeg, error) {
	var leg DialLeg
	for strings.HasPrefix(s, "[") || strings.HasPrefix(s, "<") {
		open, cl := s[0], byte(']')
		if open == '<' {
			cl = '>'
		}
		end, err := closing(s, open, cl)
		if err != nil {
			return leg, err
		}
		vs, err := parseVars(s[1:end])
		if err != nil {
			return leg, err
		}
		leg.Vars = append(leg.Vars, vs...)
		s = s[end+1:]
	}
	if s == "" || strings.ContainsAny(s, " '{}[]\r\n") {
		return leg, fmt.Errorf("%w: endpoint %q", ErrDialString, s)
	}
	leg.DialString = s
	parts := strings.Split(s, "/")
	switch {
	case len(parts) >= 4 && parts[0] == "sofia" && parts[1] == "gateway":
		leg.Gateway = parts[2]
		leg.Destination = strings.Join(parts[3:], "/")
	case len(parts) >= 3 && parts[0] == "sofia":
		leg.Destination = strings.Join(parts[2:], "/")
	case len(parts) >= 2:
		leg.Destination = parts[1]
	default:
		leg.Destination = s
	}
	leg.Destination = strings.TrimPrefix(leg.Destination, "sip:")
	if user, _, ok := strings.Cut(leg.Destination, "@"); ok {
		leg.Destination = user
	}
	return leg, nil
}
