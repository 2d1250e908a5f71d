package notify

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example of the Standard Webhooks specification (also in
// docs/ecosystem.md of the shared reference material).
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignSpecificationExample(t *testing.T) {
	got, err := Sign(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != specSig {
		t.Errorf("Sign = %s, want %s", got, specSig)
	}
	if err := Verify(specSecret, specID, "1614265330", specSig, []byte(specBody), time.Unix(specTS+60, 0)); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestSignRotation(t *testing.T) {
	other, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Sign(specSecret+" "+other, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil {
		t.Fatal(err)
	}
	sigs := strings.Fields(got)
	if len(sigs) != 2 || sigs[0] != specSig {
		t.Fatalf("Sign with two secrets = %q", got)
	}
	now := time.Unix(specTS, 0)
	for _, s := range []string{specSecret, other} {
		if err := Verify(s, specID, "1614265330", got, []byte(specBody), now); err != nil {
			t.Errorf("Verify with %s: %v", s, err)
		}
	}
}

func TestVerifyRejects(t *testing.T) {
	now := time.Unix(specTS, 0)
	tests := []struct {
		name                string
		secret, id, ts, sig string
		body                string
		want                error
	}{
		{"body changed", specSecret, specID, "1614265330", specSig, `{"test": 2432232315}`, ErrSignature},
		{"id changed", specSecret, "msg_other", "1614265330", specSig, specBody, ErrSignature},
		{"timestamp changed", specSecret, specID, "1614265331", specSig, specBody, ErrSignature},
		{"too old", specSecret, specID, "1614264000", specSig, specBody, ErrTimestamp},
		{"from the future", specSecret, specID, "1614266000", specSig, specBody, ErrTimestamp},
		{"not a number", specSecret, specID, "yesterday", specSig, specBody, ErrTimestamp},
		{"unknown version", specSecret, specID, "1614265330", "v2," + specSig[3:], specBody, ErrSignature},
		{"no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", specID, "1614265330", specSig, specBody, ErrSecret},
		{"short key", "whsec_c2hvcnQ=", specID, "1614265330", specSig, specBody, ErrSecret},
		{"empty", specSecret, specID, "1614265330", "", specBody, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Verify(tt.secret, tt.id, tt.ts, tt.sig, []byte(tt.body), now)
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestNewSecret(t *testing.T) {
	a, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewSecret()
	if a == b || !strings.HasPrefix(a, SecretPrefix) {
		t.Errorf("secrets %q %q", a, b)
	}
	key, err := ParseSecret(a)
	if err != nil || len(key) != secretBytes {
		t.Errorf("ParseSecret(%q) = %d bytes, %v", a, len(key), err)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(specSecret, specID, "1614265330", specSig, []byte(specBody))
	f.Add(specSecret, specID, "+1614265330", specSig+" v1,x", []byte(specBody))
	f.Add("whsec_", "", "", "v1, v1,,", []byte{})
	f.Fuzz(func(t *testing.T, secret, id, ts, sig string, body []byte) {
		if Verify(secret, id, ts, sig, body, time.Unix(specTS, 0)) != nil {
			return
		}
		// What verifies is one of the signatures Sign gives.
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil {
			t.Fatalf("Verify accepted timestamp %q", ts)
		}
		got, err := Sign(secret, id, time.Unix(n, 0), body)
		if err != nil || !slices.Contains(strings.Fields(sig), got) {
			t.Errorf("Verify accepted %q for %q, Sign gives %q (%v)", sig, secret, got, err)
		}
	})
}
