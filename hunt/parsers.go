package hunt

import (
	"github.com/exhunt/exhunt/event"
	"github.com/exhunt/exhunt/parse"
	"github.com/exhunt/exhunt/parse/evtx"
	"github.com/exhunt/exhunt/parse/exlog"
	"github.com/exhunt/exhunt/parse/w3c"
	"github.com/exhunt/exhunt/parse/winjson"
)

// parsers is the explicit list of log parsers by family.
var parsers = map[event.Source]parse.Func{
	event.IIS:         w3c.Parse,
	event.HTTPProxy:   exlog.Parse,
	event.ECPServer:   exlog.Parse,
	event.ECPActivity: exlog.Parse,
	event.OABGen:      exlog.Parse,
	event.RpsHTTP:     exlog.Parse,
	event.EVTX:        evtx.Parse,
	event.WinJSON:     winjson.Parse,
}

// ParserFor returns the parser of a family, nil when there is none.
func ParserFor(s event.Source) parse.Func { return parsers[s] }
