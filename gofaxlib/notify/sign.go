package notify

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks signing (https://www.standardwebhooks.com): the
// signature of a request is base64(HMAC-SHA256(key, id "." timestamp "."
// body)), sent as "v1,<signature>"; the key is the base64 part of the
// endpoint's secret after "whsec_".
const (
	SecretPrefix = "whsec_"
	// secretBytes is the size of generated keys: within the 24..64 bytes
	// the specification asks for.
	secretBytes    = 32
	minSecretBytes = 24
	maxSecretBytes = 64
	// maxSignatureHeader bounds a webhook-signature header Verify reads:
	// a few signatures during a key rotation, each 47 bytes.
	maxSignatureHeader = 4096
	// Tolerance is how far a timestamp may be from the receiver's clock
	// (the specification's replay window).
	Tolerance = 5 * time.Minute
)

// Signature errors.
var (
	ErrSecret    = errors.New("notify: invalid webhook secret")
	ErrSignature = errors.New("notify: no matching webhook signature")
	ErrTimestamp = errors.New("notify: webhook timestamp outside the tolerance")
)

// NewSecret returns a fresh endpoint secret: "whsec_" + base64 of 32
// random bytes. It is shown to the tenant once.
func NewSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("notify: secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// ParseSecret returns the key of a "whsec_" secret.
func ParseSecret(secret string) ([]byte, error) {
	s, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, fmt.Errorf("%w: no %q prefix", ErrSecret, SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: not base64 after %q", ErrSecret, SecretPrefix)
	}
	if len(key) < minSecretBytes || len(key) > maxSecretBytes {
		return nil, fmt.Errorf("%w: %d bytes, want %d..%d", ErrSecret, len(key), minSecretBytes, maxSecretBytes)
	}
	return key, nil
}

func signature(key []byte, id string, ts int64, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write(strconv.AppendInt(nil, ts, 10))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Sign returns the webhook-signature header value for a request: one
// "v1,<base64>" per secret (secrets separated by spaces, as during a key
// rotation), separated by spaces.
func Sign(secrets, id string, ts time.Time, body []byte) (string, error) {
	var out []string
	for _, s := range strings.Fields(secrets) {
		key, err := ParseSecret(s)
		if err != nil {
			return "", err
		}
		out = append(out, "v1,"+base64.StdEncoding.EncodeToString(signature(key, id, ts.Unix(), body)))
	}
	if len(out) == 0 {
		return "", fmt.Errorf("%w: empty", ErrSecret)
	}
	return strings.Join(out, " "), nil
}

// Verify checks a received webhook as a receiver does: the timestamp
// (decimal Unix seconds) within Tolerance of now and one of the
// space-separated "v1,<base64>" signatures matching body under secret.
func Verify(secret, id, timestamp, signatures string, body []byte, now time.Time) error {
	key, err := ParseSecret(secret)
	if err != nil {
		return err
	}
	ts, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not a Unix time", ErrTimestamp, timestamp)
	}
	if d := now.Sub(time.Unix(ts, 0)); d > Tolerance || d < -Tolerance {
		return fmt.Errorf("%w: %v off", ErrTimestamp, d)
	}
	if len(signatures) > maxSignatureHeader {
		return fmt.Errorf("%w: header of %d bytes", ErrSignature, len(signatures))
	}
	want := signature(key, id, ts, body)
	for _, s := range strings.Fields(signatures) {
		v, sig, ok := strings.Cut(s, ",")
		if !ok || v != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}
