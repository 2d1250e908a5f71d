package hylafaxtest

import "testing"

// TestMD5Crypt checks the "$1$" scheme against values from
// "openssl passwd -1 -salt <salt> <pw>" (the same as libcrypt's crypt(3)).
func TestMD5Crypt(t *testing.T) {
	for _, tc := range []struct{ pw, salt, want string }{
		{"secret-pw", "abcdefgh", "$1$abcdefgh$ZHv.y70O9skQtPYOyO/eb/"},
		{"x", "s", "$1$s$eSlDmdCX8nqs9SNxRTvrN."},
		{"a password longer than sixteen bytes", "0123456789", "$1$01234567$zl54zHNRfX72124OdO9TE/"},
	} {
		if got := md5Crypt(tc.pw, tc.salt); got != tc.want {
			t.Errorf("md5Crypt(%q, %q) = %q, want %q", tc.pw, tc.salt, got, tc.want)
		}
	}
}

func TestHostsLine(t *testing.T) {
	for _, u := range []User{{Name: "a:b"}, {Name: ""}, {Name: "x", Password: "a\nb"}} {
		if _, err := u.hostsLine(); err == nil {
			t.Errorf("hostsLine(%+v) accepted", u)
		}
	}
	got, err := User{Name: "gofax.admin"}.hostsLine()
	if err != nil || got != `^gofax\.admin@:21`+"\n" {
		t.Errorf("hostsLine = %q, %v", got, err)
	}
}
