// Package pack is exhunt's embedded YARA pack for Exchange compromise
// files: China Chopper and its relatives, the OAB virtual-directory dump
// shell, command, compile, loader, tunnel, file-manager, SQL, upload and
// registry shells. The rules are ours (rules/*.yar), written from the
// public descriptions in detections.md, not copied from any rule set.
//
// Every rule has its own samples: samples/<rule>/match/* must match it and
// samples/<rule>/nomatch/* (hard negatives: benign pages that share its
// words) must not. The package tests and `exhunt rules test` run them.
package pack

import (
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/exhunt/exhunt/detect/yara"
)

//go:embed rules/*.yar
var rules embed.FS

//go:embed samples
var samples embed.FS

// Prefix names pack rule files in reports ("pack:rules/chopper.yar").
const Prefix = "pack:"

// Sources returns the pack's rule files, in name order, each its own
// namespace.
func Sources() ([]yara.Source, error) {
	names, err := fs.Glob(rules, "rules/*.yar")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []yara.Source
	for _, n := range names {
		data, err := rules.ReadFile(n)
		if err != nil {
			return nil, err
		}
		out = append(out, yara.Source{Name: Prefix + n, Data: data})
	}
	return out, nil
}

// Sample is one sample file of a pack rule.
type Sample struct {
	Rule  string // rule name
	Name  string // samples/<rule>/<match|nomatch>/<file>
	Data  []byte
	Match bool
}

// Samples returns every sample, in name order.
func Samples() ([]Sample, error) {
	var out []Sample
	err := fs.WalkDir(samples, "samples", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		parts := strings.Split(p, "/")
		if len(parts) != 4 || (parts[2] != "match" && parts[2] != "nomatch") {
			return fmt.Errorf("pack sample %s: want samples/<rule>/match|nomatch/<file>", p)
		}
		data, err := samples.ReadFile(p)
		if err != nil {
			return err
		}
		out = append(out, Sample{Rule: parts[1], Name: p, Data: data, Match: parts[2] == "match"})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}
