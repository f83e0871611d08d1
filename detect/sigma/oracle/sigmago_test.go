package oracle

// The search evaluator of github.com/bradleyjkemp/sigma-go v0.6.6
// (evaluator/evaluate.go and evaluator/evaluate_search.go), MIT License,
// Copyright (c) 2020 Bradley Kemp.
//
// Why a copy: the module's evaluator package imports
// github.com/BobuSumisu/aho-corasick (bundle.go) and
// github.com/PaesslerAG/jsonpath (JSONPath field mappings), which have no
// go.sum entries in this module, and this test may not change go.mod or
// go.sum. Everything else is used from the module itself: the rule and
// condition parser (package sigma) and every comparator and value modifier
// (package evaluator/modifiers). The functions below are the upstream ones
// with only these changes, none of which changes a result:
//
//   - JSONPath field mappings ("$.x") are dropped: the oracle's identity
//     mappings never use them.
//   - Searches are evaluated when the condition reaches them, once each,
//     instead of all of them up front. evaluateSearch is a pure function of
//     the search and the event, and rules whose searches could fail to
//     evaluate are excluded before (see oracleRule), so only the cost
//     changes.
//   - Aggregations (count() by ...) are not copied: rules with them are
//     excluded.
//   - The re comparator compiles each expression once (upstream compiles
//     it on every comparison); same regexp.Compile, same MatchString.

import (
	"context"
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strings"
	"sync"

	sigmago "github.com/bradleyjkemp/sigma-go"
	"github.com/bradleyjkemp/sigma-go/evaluator/modifiers"
)

// sgEvaluator is upstream's RuleEvaluator reduced to what Matches uses.
type sgEvaluator struct {
	sigmago.Rule
	fieldmappings     map[string][]string
	expandPlaceholder func(ctx context.Context, placeholderName string) ([]string, error)
	comparators       map[string]modifiers.Comparator
}

// sgMatches is upstream's RuleEvaluator.Matches for a rule with one
// condition and no aggregation.
func (rule *sgEvaluator) sgMatches(ctx context.Context, event map[string]any) (bool, error) {
	var err error
	results := map[string]bool{}
	lookup := func(name string) bool {
		if r, ok := results[name]; ok {
			return r
		}
		search, ok := rule.Detection.Searches[name]
		if !ok {
			return false // upstream: an undefined identifier is false
		}
		r, e := rule.evaluateSearch(ctx, search, event, rule.comparators)
		if e != nil && err == nil {
			err = fmt.Errorf("error evaluating search %s: %w", name, e)
		}
		results[name] = r
		return r
	}
	m := rule.evaluateSearchExpression(rule.Detection.Conditions[0].Search, lookup)
	if err != nil {
		return false, err
	}
	return m, nil
}

func (rule *sgEvaluator) evaluateSearchExpression(search sigmago.SearchExpr, searchResults func(string) bool) bool {
	switch s := search.(type) {
	case sigmago.And:
		for _, node := range s {
			if !rule.evaluateSearchExpression(node, searchResults) {
				return false
			}
		}
		return true

	case sigmago.Or:
		for _, node := range s {
			if rule.evaluateSearchExpression(node, searchResults) {
				return true
			}
		}
		return false

	case sigmago.Not:
		return !rule.evaluateSearchExpression(s.Expr, searchResults)

	case sigmago.SearchIdentifier:
		// If `s.Name` is not defined, this is always false
		return searchResults(s.Name)

	case sigmago.OneOfThem:
		for name := range rule.Detection.Searches {
			if rule.evaluateSearchExpression(sigmago.SearchIdentifier{Name: name}, searchResults) {
				return true
			}
		}
		return false

	case sigmago.OneOfPattern:
		for name := range rule.Detection.Searches {
			// it's not possible for this call to error because the search expression parser won't allow this to contain invalid expressions
			matchesPattern, _ := path.Match(s.Pattern, name)
			if !matchesPattern {
				continue
			}
			if rule.evaluateSearchExpression(sigmago.SearchIdentifier{Name: name}, searchResults) {
				return true
			}
		}
		return false

	case sigmago.AllOfThem:
		for name := range rule.Detection.Searches {
			if !rule.evaluateSearchExpression(sigmago.SearchIdentifier{Name: name}, searchResults) {
				return false
			}
		}
		return true

	case sigmago.AllOfPattern:
		for name := range rule.Detection.Searches {
			// it's not possible for this call to error because the search expression parser won't allow this to contain invalid expressions
			matchesPattern, _ := path.Match(s.Pattern, name)
			if !matchesPattern {
				continue
			}
			if !rule.evaluateSearchExpression(sigmago.SearchIdentifier{Name: name}, searchResults) {
				return false
			}
		}
		return true
	}
	panic(fmt.Sprintf("unhandled node type %T", search))
}

func (rule *sgEvaluator) evaluateSearch(ctx context.Context, search sigmago.Search, event map[string]any, comparators map[string]modifiers.Comparator) (bool, error) {
	if len(search.Keywords) > 0 {
		return false, fmt.Errorf("keywords unsupported")
	}

	if len(search.EventMatchers) == 0 {
		// degenerate case (but common for logsource conditions)
		return true, nil
	}

	// A Search is a series of EventMatchers (usually one)
	// Each EventMatchers is a series of "does this field match this value" conditions
	// all fields need to match for an EventMatcher to match, but only one EventMatcher needs to match for the Search to evaluate to true
eventMatcher:
	for _, eventMatcher := range search.EventMatchers {
		for _, fieldMatcher := range eventMatcher {
			// A field matcher can specify multiple values to match against
			// either the field should match all of these values or it should match any of them
			allValuesMustMatch := false
			fieldModifiers := fieldMatcher.Modifiers
			if len(fieldMatcher.Modifiers) > 0 && fieldModifiers[len(fieldModifiers)-1] == "all" {
				allValuesMustMatch = true
				fieldModifiers = fieldModifiers[:len(fieldModifiers)-1]
			}

			// field matchers can specify modifiers (FieldName|modifier1|modifier2) which change the matching behaviour
			var comparator modifiers.ComparatorFunc
			var err error
			comparator, err = modifiers.GetComparator(fieldMatcher.Field, comparators, fieldModifiers...)
			if err != nil {
				return false, err
			}

			matcherValues, err := rule.getMatcherValues(ctx, fieldMatcher)
			if err != nil {
				return false, err
			}
			values, err := rule.GetFieldValuesFromEvent(fieldMatcher.Field, event)
			if err != nil {
				return false, err
			}
			if !rule.matcherMatchesValues(matcherValues, comparator, allValuesMustMatch, values) {
				// this field didn't match so the overall matcher doesn't match, try the next EventMatcher
				continue eventMatcher
			}
		}

		// all fields matched!
		return true, nil
	}

	// None of the event matchers explicitly matched
	return false, nil
}

func (rule *sgEvaluator) getMatcherValues(ctx context.Context, matcher sigmago.FieldMatcher) ([]string, error) {
	matcherValues := []string{}
	for _, abstractValue := range matcher.Values {
		value := ""

		switch abstractValue := abstractValue.(type) {
		case string:
			value = abstractValue
		case int, float32, float64, bool:
			value = fmt.Sprintf("%v", abstractValue)
		default:
			return nil, fmt.Errorf("expected scalar field matching value got: %v (%T)", abstractValue, abstractValue)
		}

		if strings.HasPrefix(value, "%") && strings.HasSuffix(value, "%") {
			// expand placeholder to values
			if rule.expandPlaceholder == nil {
				return nil, fmt.Errorf("can't expand %s, no placeholder expander function defined", value)
			}
			placeholderValues, err := rule.expandPlaceholder(ctx, value)
			if err != nil {
				return nil, fmt.Errorf("failed to expand placeholder: %w", err)
			}
			matcherValues = append(matcherValues, placeholderValues...)
		} else {
			matcherValues = append(matcherValues, value)
		}
	}
	return matcherValues, nil
}

func eventValue(e map[string]any, key string) any {
	return e[key]
}

func (rule *sgEvaluator) GetFieldValuesFromEvent(field string, event map[string]any) ([]any, error) {
	// First collect this list of event values we're matching against
	var actualValues []any
	if len(rule.fieldmappings[field]) == 0 {
		// No FieldMapping exists so use the name directly from the rule
		actualValues = []any{eventValue(event, field)}
	} else {
		// FieldMapping does exist so check each of the possible mapped names instead of the name from the rule
		for _, mapping := range rule.fieldmappings[field] {
			// (upstream: "$." mappings are JSONPath expressions; not copied)
			v := eventValue(event, mapping)
			actualValues = append(actualValues, toGenericSlice(v)...)
		}
	}

	return actualValues, nil
}

func (rule *sgEvaluator) matcherMatchesValues(matcherValues []string, comparator modifiers.ComparatorFunc, allValuesMustMatch bool, actualValues []any) bool {
	matched := allValuesMustMatch
	for _, expectedValue := range matcherValues {
		valueMatchedEvent := false
		// There are multiple possible event fields that each expected value needs to be compared against
		for _, actualValue := range actualValues {
			comparatorMatched, err := comparator(actualValue, expectedValue)
			if err != nil {
				// todo
			}
			if comparatorMatched {
				valueMatchedEvent = true
				break
			}
		}

		if allValuesMustMatch {
			matched = matched && valueMatchedEvent
		} else {
			matched = matched || valueMatchedEvent
		}
	}
	return matched
}

func toGenericSlice(v any) []any {
	rv := reflect.ValueOf(v)

	// if this isn't a slice, then return a slice containing the
	// original value
	if rv.Kind() != reflect.Slice {
		return []any{v}
	}

	out := make([]any, 0, rv.Len())
	for i := 0; i < rv.Len(); i++ {
		out = append(out, rv.Index(i).Interface())
	}

	return out
}

// cachedRe is upstream's re comparator (modifiers.re) with the compiled
// expression cached.
type cachedRe struct{ m sync.Map }

func (c *cachedRe) Matches(actual, expected any) (bool, error) {
	src := modifiers.CoerceString(expected)
	v, ok := c.m.Load(src)
	if !ok {
		re, err := regexp.Compile(src)
		if err != nil {
			return false, err
		}
		v, _ = c.m.LoadOrStore(src, re)
	}
	return v.(*regexp.Regexp).MatchString(modifiers.CoerceString(actual)), nil
}

// sgComparators is modifiers.Comparators with the caching re.
var sgComparators = func() map[string]modifiers.Comparator {
	out := map[string]modifiers.Comparator{}
	for k, v := range modifiers.Comparators {
		out[k] = v
	}
	out["re"] = &cachedRe{}
	return out
}()
