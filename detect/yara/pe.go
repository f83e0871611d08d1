package yara

// peModule is filled in by the PE parser.
func peModule() *module {
	return &module{name: "pe", root: sStruct(map[string]*schema{
		"is_pe": sInt(),
	}), load: func(c *ectx) map[string]any { return map[string]any{"is_pe": int64(0)} }}
}

func entryPointOffset(data []byte) (int64, bool) { return 0, false }
