// China Chopper and its one-line relatives: a page that hands a request
// parameter to JScript's eval, and the C# writer form that saves a request
// parameter to a file. Written for exhunt from the public descriptions in
// detections.md section 5; not derived from any rule file.

rule EXH_Chopper_JScript_Eval
{
    meta:
        exhunt_id = "EXH-YARA-01"
        description = "China Chopper-style page: JScript eval of request input"
        severity = "high"
        stage = "write"
        campaign = "HAFNIUM"
        technique = "T1505.003"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        // eval straight on a request parameter, any casing and spacing
        $eval_request = /\beval\s*\(\s*(Context\.|HttpContext\.Current\.)?Request\s*(\.\s*(Item|Form|QueryString|Params)\s*)?[\[\(]/ nocase
        // JScript .NET's second eval argument switches the sandbox off
        $eval_unsafe = /\beval\s*\([^;]{1,200}["']unsafe["']/ nocase
        // eval(variable, option): the two-argument form only JScript .NET has
        $eval_two = /\beval\s*\(\s*[A-Za-z_][A-Za-z0-9_]{0,40}\s*,/
        $lang1 = /Language\s*=\s*["']?JScript/ nocase
        $lang2 = /<script[^>]{0,60}language\s*=\s*["']?JScript/ nocase
    condition:
        filesize < 2MB and ($eval_request or (any of ($lang*) and ($eval_unsafe or $eval_two)))
}

rule EXH_Chopper_CSharp_Writer
{
    meta:
        exhunt_id = "EXH-YARA-02"
        description = "China Chopper C# writer: a request parameter written to a file named by another"
        severity = "high"
        stage = "write"
        campaign = "HAFNIUM"
        technique = "T1505.003"
        reference = "https://www.cisa.gov/news-events/analysis-reports/ar21-084a"
    strings:
        $writer = /StreamWriter\s*\(\s*(Server\.MapPath\s*\(\s*)?Request\s*(\.\s*(Form|Item|QueryString|Params)\s*)?\[/ nocase
        $write = /\.Write(Line)?\s*\(\s*Request\s*(\.\s*(Form|Item|QueryString|Params)\s*)?\[/ nocase
        $alltext = /File\.WriteAll(Text|Bytes)\s*\(\s*(Server\.MapPath\s*\(\s*)?Request\s*(\.\s*(Form|Item|QueryString|Params)\s*)?\[/ nocase
    condition:
        filesize < 2MB and (($writer and $write) or $alltext)
}
