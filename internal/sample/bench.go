package sample

import (
	"errors"
	"strconv"
	"strings"
)

// BenchInfo describes a written benchmark tree.
type BenchInfo struct {
	Bytes int64
	Files int
}

// ParseSize reads sizes like 1GiB, 512MiB, 500MB, 1e9.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suf string
		m   float64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"G", 1 << 30}, {"M", 1 << 20}, {"K", 1 << 10}, {"B", 1}}
	m := 1.0
	for _, u := range units {
		if strings.HasSuffix(s, u.suf) {
			s, m = strings.TrimSuffix(s, u.suf), u.m
			break
		}
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || v <= 0 {
		return 0, errors.New("bad size " + strconv.Quote(s))
	}
	return int64(v * m), nil
}

// WriteBench is filled in below.
func WriteBench(dir string, size int64) (BenchInfo, error) { return BenchInfo{}, errors.New("todo") }
