package heuristic

import "testing"

func TestContainsFold(t *testing.T) {
	for _, c := range []struct {
		b    string
		want bool
	}{
		{`<script language="JScript" runat="server">`, true},
		{`<SCRIPT RUNAT=SERVER>`, true},
		{`RunAt`, true},
		{`runa`, false},
		{`r u n a t`, false},
		{``, false},
		{`xxrunatxx`, true},
	} {
		if got := containsFold([]byte(c.b), "runat"); got != c.want {
			t.Errorf("containsFold(%q) = %v, want %v", c.b, got, c.want)
		}
	}
}
