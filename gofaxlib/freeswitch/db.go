package freeswitch

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// ErrNotFound means mod_db has no such key (FreeSWITCH answers "-ERR no
// reply").
var ErrNotFound = errors.New("freeswitch: not found")

// ErrInvalidKey is returned for a realm, key or value that cannot be used
// in a "db" command.
var ErrInvalidKey = errors.New("freeswitch: invalid db realm, key or value")

// dbRe is what realms, keys and values written by us may hold: mod_db
// splits its argument at '/', strips quotes and backslashes, and the API
// line ends at CR/LF, so none of those (nor spaces) are allowed.
var dbRe = regexp.MustCompile(`^[A-Za-z0-9_.+@:=-]{1,255}$`)

// DB is FreeSWITCH's mod_db key/value store ("api db ...").
type DB struct {
	API API
}

func checkDB(parts ...string) error {
	for _, p := range parts {
		if !dbRe.MatchString(p) {
			return fmt.Errorf("%w: %q", ErrInvalidKey, p)
		}
	}
	return nil
}

// call runs "db <args>" and returns its output without the trailing
// newline; "-ERR no reply" becomes ErrNotFound, other "-ERR" answers an
// error quoting them.
func (db DB) call(ctx context.Context, args string) (string, error) {
	out, err := db.API.API(ctx, "db "+args)
	text := strings.TrimRight(out, "\r\n")
	if rest, ok := strings.CutPrefix(text, "-ERR"); ok {
		if strings.TrimSpace(rest) == "no reply" {
			return "", ErrNotFound
		}
		return "", fmt.Errorf("freeswitch: db %s: %s", args, text)
	}
	if err != nil {
		return "", fmt.Errorf("freeswitch: db %s: %w", args, err)
	}
	return text, nil
}

// Set stores value under realm/key ("db insert"), replacing an old value.
func (db DB) Set(ctx context.Context, realm, key, value string) error {
	if err := checkDB(realm, key, value); err != nil {
		return err
	}
	out, err := db.call(ctx, "insert/"+realm+"/"+key+"/"+value)
	if err != nil {
		return err
	}
	if out != "+OK" {
		return fmt.Errorf("freeswitch: db insert/%s/%s: unexpected answer %q", realm, key, out)
	}
	return nil
}

// Get returns the value of realm/key ("db select"), or ErrNotFound.
func (db DB) Get(ctx context.Context, realm, key string) (string, error) {
	if err := checkDB(realm, key); err != nil {
		return "", err
	}
	return db.call(ctx, "select/"+realm+"/"+key)
}

// Exists reports whether realm/key is set ("db exists").
func (db DB) Exists(ctx context.Context, realm, key string) (bool, error) {
	if err := checkDB(realm, key); err != nil {
		return false, err
	}
	out, err := db.call(ctx, "exists/"+realm+"/"+key)
	if err != nil {
		return false, err
	}
	switch out {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("freeswitch: db exists/%s/%s: unexpected answer %q", realm, key, out)
}

// List returns the keys of realm ("db list"); an empty or unknown realm
// gives no keys and no error.
func (db DB) List(ctx context.Context, realm string) ([]string, error) {
	if err := checkDB(realm); err != nil {
		return nil, err
	}
	out, err := db.call(ctx, "list/"+realm)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for _, k := range strings.Split(out, ",") {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// Delete removes realm/key ("db delete"); a missing key is no error.
func (db DB) Delete(ctx context.Context, realm, key string) error {
	if err := checkDB(realm, key); err != nil {
		return err
	}
	out, err := db.call(ctx, "delete/"+realm+"/"+key)
	if err != nil {
		return err
	}
	if out != "+OK" {
		return fmt.Errorf("freeswitch: db delete/%s/%s: unexpected answer %q", realm, key, out)
	}
	return nil
}

// OverrideRealm returns the mod_db realm holding per-destination dial-string
// overrides, "override-<number>", as GOfax.IP used it
// (fs_cli -x 'db insert/override-012345/fax_enable_t38/false').
func OverrideRealm(number string) string { return "override-" + number }

// overridable are the channel variable names (or name prefixes ending in
// "_") an override may set: fax and T.38 settings, caller ID, codecs, SIP
// headers and ring time. Anything else (execute_on_*, api_on_*, ...) could
// run applications and is refused.
var overridable = []string{
	"fax_", "t38_", "origination_caller_id_", "effective_caller_id_", "sip_h_", "sip_cid_type",
	"absolute_codec_string", "codec_string", "ignore_early_media", "originate_timeout",
	"leg_timeout", "refuse_t38", "jitterbuffer_msec",
}

// Overridable reports whether an override may set the channel variable name.
func Overridable(name string) bool {
	if len(name) > maxNameLen || !nameRe.MatchString(name) {
		return false
	}
	for _, o := range overridable {
		if strings.HasSuffix(o, "_") {
			if strings.HasPrefix(name, o) && len(name) > len(o) {
				return true
			}
		} else if name == o {
			return true
		}
	}
	return false
}

// Overrides reads the dial-string overrides of a destination from realm
// OverrideRealm(number). Entries that are not Overridable or whose value
// CheckVar refuses are left out and described in rejected, for the caller
// to log; err is only for failures to ask FreeSWITCH.
func (db DB) Overrides(ctx context.Context, number string) (vars Vars, rejected []string, err error) {
	realm := OverrideRealm(number)
	if checkDB(realm) != nil {
		return nil, nil, fmt.Errorf("%w: override realm for %q", ErrInvalidKey, number)
	}
	keys, err := db.List(ctx, realm)
	if err != nil {
		return nil, nil, err
	}
	for _, k := range keys {
		if !Overridable(k) || checkDB(k) != nil {
			rejected = append(rejected, fmt.Sprintf("%s/%s: variable not allowed in overrides", realm, k))
			continue
		}
		v, err := db.Get(ctx, realm, k)
		if errors.Is(err, ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, nil, err
		}
		if err := CheckVar(k, v); err != nil {
			rejected = append(rejected, fmt.Sprintf("%s/%s: %v", realm, k, err))
			continue
		}
		vars.Set(k, v)
	}
	return vars, rejected, nil
}
