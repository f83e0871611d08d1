package sim

// Stats counts what a fleet has served since Start.
type Stats struct {
	Accepted  int64            // connections accepted (tarpits and resets included)
	Requests  int64            // HTTP requests answered or aborted
	Resets    int64            // connections reset on accept
	Aborts    int64            // requests dropped by a URL-rewrite mitigation
	Tarpitted int64            // connections a tarpit took in
	Held      int              // tarpit connections held open now
	ByPath    map[string]int64 // requests per class (PathNames)
	Hosts     []HostStats      // per served host, in index order
}

// HostStats counts one host's traffic.
type HostStats struct {
	Index    int
	Conns    int64
	Requests int64
	ByPath   map[string]int64 // only the classes seen
}

// Stats returns a snapshot of the counters.
func (f *Fleet) Stats() Stats {
	s := Stats{Accepted: f.accepted.Load(), Resets: f.resets.Load(), Aborts: f.aborts.Load(), Tarpitted: f.tarpitted.Load(), ByPath: map[string]int64{}}
	f.held.Lock()
	s.Held = len(f.heldConn)
	f.held.Unlock()
	s.Hosts = make([]HostStats, len(f.state))
	for k := range f.state {
		st := &f.state[k]
		hs := HostStats{Index: st.h.Index, Conns: st.conns.Load(), Requests: int64(st.n.Load())}
		for c := range st.byPath {
			if v := st.byPath[c].Load(); v > 0 {
				if hs.ByPath == nil {
					hs.ByPath = map[string]int64{}
				}
				hs.ByPath[PathNames[c]] += v
				s.ByPath[PathNames[c]] += v
			}
		}
		s.Requests += hs.Requests
		s.Hosts[k] = hs
	}
	return s
}

// HostStats returns one host's counters by fleet index.
func (f *Fleet) HostStats(index int) (HostStats, bool) {
	k := index - f.cfg.First
	if k < 0 || k >= len(f.state) {
		return HostStats{}, false
	}
	st := &f.state[k]
	hs := HostStats{Index: index, Conns: st.conns.Load(), Requests: int64(st.n.Load()), ByPath: map[string]int64{}}
	for c := range st.byPath {
		if v := st.byPath[c].Load(); v > 0 {
			hs.ByPath[PathNames[c]] = v
		}
	}
	return hs, true
}
