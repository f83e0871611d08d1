// Package yara is a pure-Go YARA engine.
package yara
