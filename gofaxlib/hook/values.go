package hook

import "strings"

// Value is one "Tag: value" line of a DynamicConfig script's output.
type Value struct {
	Key   string // lower case, trimmed
	Value string // trimmed, one pair of surrounding double quotes removed
}

// Values are a script's settings in output order.
type Values []Value

// ParseConfigOutput reads DynamicConfig output the way HylaFAX does: each
// line "Tag: value" is split at the first colon; tags are case-insensitive;
// key and value are trimmed; a value wrapped in one pair of double quotes
// loses them (GOfax.IP kept the quotes, so `LocalIdentifier: "+49 30 1"`
// became a CSI with quotes). Empty lines, lines starting with '#' and lines
// without a colon are ignored.
func ParseConfigOutput(b []byte) Values {
	var vs Values
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.ToLower(strings.TrimSpace(k))
		if !ok || k == "" {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
			v = v[1 : len(v)-1]
		}
		vs = append(vs, Value{Key: k, Value: v})
	}
	return vs
}

// Get returns the value of key (case-insensitive). When a tag appears more
// than once the last one wins, as HylaFAX applies the lines in order.
func (vs Values) Get(key string) (string, bool) {
	for i := len(vs) - 1; i >= 0; i-- {
		if strings.EqualFold(vs[i].Key, key) {
			return vs[i].Value, true
		}
	}
	return "", false
}

// Bool reports whether key is set to true, yes, on or 1 (any case).
func (vs Values) Bool(key string) bool {
	v, _ := vs.Get(key)
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true
	}
	return false
}
