package builtin

import "testing"

func TestHasCommand(t *testing.T) {
	for q, want := range map[string]bool{
		"cmd=whoami":                    true,
		"a=1&cmd=dir":                   true,
		"x=ipconfig+/all":               true,
		"c=net user admin /add":         true,
		"mycmd=1":                       false,
		"url=https://mail/owa&reason=0": false,
		"":                              false,
		"cmd":                           false,
	} {
		if got := hasCommand(q); got != want {
			t.Errorf("hasCommand(%q) = %v, want %v", q, got, want)
		}
	}
}
