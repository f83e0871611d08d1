// Package oracle holds only a test: the Sigma engine's matches on the
// shared EVTX corpus (../shared/corpus) are cross-checked against an
// independent evaluation by github.com/bradleyjkemp/sigma-go, and any
// disagreement fails the test.
//
// The comparison is limited to where it is meaningful:
//
//   - rules sigma-go evaluates with Sigma's meaning: no keywords, no
//     modifier it lacks (windash, base64offset, fieldref, exists, cased,
//     expand, re flags, utf16*, wide, ...), no null, no wildcard or
//     escape in a value (sigma-go compares values literally), a single
//     condition without aggregation, no "1 of x" without a wildcard;
//   - events the engine routes to the rule without a field mapping
//     (Sysmon events for the Sysmon categories, a service's own channel,
//     ...; not Security 4688 for process_creation), since sigma-go does
//     not route by logsource: the test routes, sigma-go judges the
//     detection;
//   - (rule, event) pairs where sigma-go's reading of an absent field as
//     the string "<nil>" cannot change the answer.
//
// sigma-go is used as published (parser, evaluator and comparators, with
// identity field mappings so that a repeated field is read as its list of
// values); nothing of it is copied.
package oracle
