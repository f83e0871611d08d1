package assess

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/exhunt/exhunt/finding"
)

// FuzzAssess: `exhunt assess DOC.json` takes a document from elsewhere, so
// any JSON that decodes as a document must assess without a panic, and
// every host gets a verdict with a yardstick term and a state.
func FuzzAssess(f *testing.F) {
	f.Add([]byte(`{"hosts":[{"host":"ex"}],"findings":[{"id":"EXH-PL-95","severity":"critical","stage":"write","host":"ex","time":"2021-03-01T00:00:00Z","evidence":{"path":"a","line":1,"fields":{"client_ip":"167.99.168.251"}}}],"inventory":[{"host":"ex","family":"iis","files":1,"first":"2021-01-01T00:00:00Z","last":"2021-02-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"hosts":[{"host":"ex","builds":[{"build":"15.1.2106.2","source":"httpproxy","count":1}]}],"findings":[{"id":"EXH-PL-07","severity":"low","stage":"recon","host":"other"}]}`))
	f.Add([]byte(`{"hosts":[{"host":""},{"host":""}],"findings":[{"host":"","time":null,"evidence":{}}],"inventory":[{"host":"","family":"files","last":"0001-01-01T00:00:00Z"}]}`))
	f.Add([]byte(`{"hosts":[{"host":"x","builds":[{"build":"garbage"},{"build":"15.20.1.1"},{"build":"15.1"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var doc finding.Document
		if json.Unmarshal(data, &doc) != nil {
			return
		}
		Assess(&doc, Options{Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
		for _, h := range doc.Hosts {
			if h.Verdict == nil || h.Verdict.Likelihood == "" || h.Verdict.State == "" {
				t.Fatalf("host %q: verdict %+v", h.Host, h.Verdict)
			}
		}
	})
}
