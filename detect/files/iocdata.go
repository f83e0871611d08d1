package files

import "github.com/exhunt/exhunt/finding"

// Sources of the embedded indicators (detections.md 4.1 names them; the
// values are public indicators, restated, not copied from a rule file).
const (
	srcHafniumBlog = "Microsoft HAFNIUM blog, 2 Mar 2021 (CSS-Exchange CompareExchangeHashes.ps1 KNOWN_BAD_HASH; signature-base iocs/hash-iocs.txt)"
	srcMSTIC       = "Microsoft MSTIC IOC feed, Exchange Server vulnerabilities disclosed March 2021 (Azure-Sentinel MSTICIoCs-ExchangeServerVulnerabilitiesDisclosedMarch2021.csv)"
	srcVolexity    = "Volexity, Operation Exchange Marauder, Mar 2021 (CISA CHIRP AA21-062A; signature-base)"
	srcHafniumDLL  = "signature-base apt_hafnium.yar APT_MAL_ASP_DLL_HAFNIUM_Mar21_1 (HAFNIUM shells compiled by ASP.NET)"
	srcCISA        = "CISA MAR AR21-084A (signature-base WEBSHELL_HAFNIUM_CISA_10328929)"
	srcSigBase     = "signature-base apt_hafnium.yar, Mar 2021"
	srcGTSC        = "GTSC ProxyNotShell report, Sep 2022 (FrankysWeb/Search-ExchangeProxyNotShell)"
)

// Embedded returns the built-in hash indicators: Exchange web shells,
// their compiled copies and the tools used with them.
func Embedded() []IOC {
	out := make([]IOC, len(embedded))
	copy(out, embedded)
	return out
}

func shell(hash, kind, name, src string) IOC {
	return IOC{Hash: hash, Kind: kind, Name: name, Source: src, Severity: finding.Critical}
}

var embedded = []IOC{
	shell("b75f163ca9b9240bf4b37ad92bc7556b40a17e27c2b8ed5c8991385fe07d17d0", "sha256", "HAFNIUM SecChecker web shell", srcHafniumBlog),
	shell("097549cf7d0f76f0d99edf8b2d91c60977fd6a96e4b8c3c94b0b1733dc026d3e", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("2b6f1ebb2208e93ade4a6424555d6a8341fd6d9f60c25e44afe11008f5c1aad1", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("65149e036fff06026d80ac9ad4d156332822dc93142cf1a122b1841ec8de34b5", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("511df0e2df9bfa5521b588cc4bb5f8c5a321801b803394ebc493db1ef3c78fa1", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("4edc7770464a14f54d17f36dc9d0fe854f68b346b27b35a6f5839adf1f13f8ea", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("811157f9c7003ba8d17b45eb3cf09bef2cecd2701cedb675274949296a6a183d", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("1631a90eb5395c4e19c7dbcbf611bbe6444ff312eb7937e286e4637cb9e72944", "sha256", "HAFNIUM web shell", srcHafniumBlog),
	shell("8e90ed33c7ee82c0b64078ea36ec95f7420ba435c693b3b3dd728b494abf7dfc", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("2f0bc81c2ea269643cae307239124d1b6479847867b1adfe9ae712a1d5ef135e", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("a291305f181e24fe7194154b4cd355ccb039d5765709c80999e392efec69c90a", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("e044d9f2d0f1260c3f4a543a1e67f33fcac265be114a1b135fd575b860d2b8c6", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("2b9838da7edb0decd32b086e47a31e8f5733b5981ad8247a2f9508e232589bff", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("feb3e6d30ba573ba23f3bd1291ca173b7879706d1fe039c34d53a4fdcdf33ede", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("dd29e8d47dde124c7d14e614e03ccaab3ecaa50e0a0bef985ed59e98928bc13d", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("201e4e9910dcdc8c4ffad84b60b328978db8848d265c0b9ba8473cf65dcd0c41", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("5a5f4a1c7dbac3e1ac900f43415f378e88a7b591aff730d9715b62d6d782bdde", "sha256", "Exchange web shell (MSTIC)", srcMSTIC),
	shell("893cd3583b49cb706b3e55ecb2ed0757b977a21f5c72e041392d1256f31166e2", "sha256", "SimpleSeeSharp web shell (Volexity)", srcVolexity),
	shell("406b680edc9a1bb0e2c7c451c56904857848b5f15570401450b73b232ff38928", "sha256", "reGeorg tunnel variant (Volexity)", srcVolexity),
	shell("2fa06333188795110bba14a482020699a96f76fb1ceb80cbfa2df9d3008b5b0a", "sha256", "SPORTSBALL web shell (Volexity)", srcVolexity),
	shell("097f5f700c000a13b91855beb61a931d34fb0abb738a110368f525e25c5bc738", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("15744e767cbaa9b37ff7bb5c036dda9b653fc54fc9a96fe73fbd639150b3daa3", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("52ae4de2e3f0ef7fe27c699cb60d41129a3acd4a62be60accc85d88c296e1ddb", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("5f0480035ee23a12302c88be10e54bf3adbcf271a4bb1106d4975a28234d3af8", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("6243fd2826c528ee329599153355fd00153dee611ca33ec17effcf00205a6e4e", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("ebf6799bb86f0da2b05e66a0fe5a9b42df6dac848f4b951b2ed7b7a4866f19ef", "sha256", "HAFNIUM web shell compiled by ASP.NET (App_Web DLL)", srcHafniumDLL),
	shell("c8a7b5ffcf23c7a334bb093dda19635ec06ca81f6196325bb2d811716c90f3c5", "sha256", "China Chopper web shell (CISA AR21-084A)", srcCISA),
	shell("a8c63c418609c1c291b3e731ca85ded4b3e0fba83f3489c21a3199173b176a75", "sha256", "ASPX file-explorer web shell", srcSigBase),
	shell("ac44513e5ef93d8cbc17219350682c2246af6d5eb85c1b4302141d94c3b06c90", "sha256", "Obfuscated China Chopper-like web shell", srcSigBase),
	shell("099c8625c58b315b6c11f5baeb859f4c", "md5", "Tiny JScript eval web shell", srcSigBase),
	{Hash: "c55672b5d2963969abe045fe75db52069d0300691d4f1f5923afeadf5353b9d2", Kind: "sha256", Name: "PowerCat (PowerShell netcat) used after HAFNIUM intrusions", Source: srcSigBase, Severity: finding.High},
	{Hash: "2f4c948974da341412ab742e14d8cdd33c1efa22b90135fcfae891f08494ac32", Kind: "sha256", Name: "Nishang Invoke-PowerShellTcpOneLine reverse shell", Source: srcSigBase, Severity: finding.High},
	shell("c838e77afe750d713e67ffeb4ec1b82ee9066cbe21f11181fd34429f70831ec1", "sha256", "ProxyNotShell web shell owa/auth/pxh4HG1v.ashx", srcGTSC),
	shell("65a002fe655dc1751add167cf00adf284c080ab2e97cd386881518d3a31d27f5", "sha256", "ProxyNotShell web shell owa/auth/RedirSuiteServiceProxy.aspx", srcGTSC),
	shell("b5038f1912e7253c7747d2f0fa5310ee8319288f818392298fd92009926268ca", "sha256", "ProxyNotShell web shell owa/auth/RedirSuiteServiceProxy.aspx", srcGTSC),
	shell("be07bd9310d7a487ca2f49bcdaafb9513c0c8f99921fdf79a05eaba25b52d257", "sha256", "ProxyNotShell web shell owa/auth/errorEE.aspx", srcGTSC),
}

// KnownGood returns the hashes of files Exchange servers carry that are
// not evidence: the four legacy aspnet_client web.config files IIS writes
// (httpRedirect enabled or not, with or without destination), SHA-256 as
// listed by cert-lv/exchange_webshell_detection (detect_webshells.ps1,
// detections.md LV-02). A file with one of these hashes gets no other file
// finding.
func KnownGood() []IOC {
	const src = "cert-lv/exchange_webshell_detection detect_webshells.ps1 (LV-02)"
	return []IOC{
		{Hash: "5470eafeb40805ac58b13de3eb64bea6200c5446e37a21e7674913f2adf5c089", Kind: "sha256", Name: "aspnet_client web.config, httpRedirect enabled=false", Source: src},
		{Hash: "843a6d81a3be784755ef1340f224465cd9aa51e7a71d4153048307f8e1aa7c15", Kind: "sha256", Name: "aspnet_client web.config, httpRedirect enabled=true", Source: src},
		{Hash: "6625962a82913289fefdc17e12bb44360898c12d0dbd3e47b0a9345ed99c887d", Kind: "sha256", Name: "aspnet_client web.config, httpRedirect enabled=false with destination", Source: src},
		{Hash: "0b996adc7d510fcceb253dc8b56aaa487840dd84eecd022f8f3a36eb0a6fd9f6", Kind: "sha256", Name: "aspnet_client web.config, httpRedirect enabled=true with destination", Source: src},
	}
}
