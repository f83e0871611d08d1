// Package sigma loads Sigma rules, filters and correlations and evaluates
// them over exhunt events: Windows event records (EVTX, exported JSON) and
// the IIS and Exchange HttpProxy access logs (category webserver).
//
// Why our own engine: no Go engine is fit (design/engines.md). The best one,
// bradleyjkemp/sigma-go v0.6.6, parses 2,399 of 2,407 SigmaHQ windows rules
// but evaluates them at 43 events/s, because it recompiles regular
// expressions per call and has no index; it also lacks windash (102 rules),
// base64offset, fieldref and exists. markuskont/go-sigma-rule-engine loads
// 2,084 rules and runs at 141 events/s. Hayabusa and Velociraptor show where
// speed comes from, and this package does the same:
//
//   - rules are decoded with yaml.v3, validated (errors name the file and
//     the field) and compiled once: wildcards into literal matchers,
//     regular expressions compiled at load, modifiers expanded into
//     variants;
//   - each rule's logsource is routed to evidence (a Windows Channel and
//     EventID, an IIS or HttpProxy log) through a documented field-mapping
//     table (docs/sigma.md);
//   - rules are indexed by family, Channel and EventID, and every index
//     bucket has one keyword prefilter (detect.KeywordFilter) over the
//     literal needles that a match of each rule requires, so an event costs
//     one pass over its raw text plus the rules whose needles occur in it.
//
// The library is silent: problems are returned (LoadReport, errors) or
// reported through callbacks, never logged.
package sigma
