// ASP.NET pages and handlers that run commands or compile code from what a
// request sends. Exchange's own pages never start processes. Own rules.

rule EXH_ASPX_Command_Execution
{
    meta:
        exhunt_id = "EXH-YARA-04"
        description = "ASP.NET page starts a process with input from the request (command shell)"
        severity = "high"
        stage = "write"
        technique = "T1505.003, T1059.003"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control|Application)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $page3 = /<%[^@]/
        $proc1 = "ProcessStartInfo" nocase
        $proc2 = /Process\s*\.\s*Start\s*\(/ nocase
        $proc3 = /new\s+(System\.Diagnostics\.)?Process\s*\(/ nocase
        $shell1 = "cmd.exe" nocase
        $shell2 = /cmd(\.exe)?["']?\s*,?\s*["']?\s*\/c/ nocase
        $shell3 = "powershell" nocase
        $shell4 = "RedirectStandardOutput" nocase
        $shell5 = "StandardInput" nocase
        $in1 = /Request\s*(\.\s*(Form|QueryString|Params|Item|Headers|Cookies)\s*)?[\[\(]/ nocase
        $in2 = /\b\w+\.Text\b/ nocase
        $in3 = /Request\.(InputStream|BinaryRead)/ nocase
    condition:
        filesize < 2MB and any of ($page*) and any of ($proc*) and any of ($shell*) and any of ($in*)
}

rule EXH_ASPX_Runtime_Compile
{
    meta:
        exhunt_id = "EXH-YARA-05"
        description = "ASP.NET page compiles and runs code sent in the request"
        severity = "high"
        stage = "write"
        technique = "T1505.003, T1027.004"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $comp1 = "CompileAssemblyFromSource" nocase
        $comp2 = "CSharpCodeProvider" nocase
        $comp3 = "CodeDomProvider" nocase
        $comp4 = "JScriptCodeProvider" nocase
        $in1 = /Request\s*(\.\s*(Form|QueryString|Params|Item|Headers|Cookies)\s*)?[\[\(]/ nocase
        $in2 = /Request\.(InputStream|BinaryRead)/ nocase
    condition:
        filesize < 2MB and any of ($page*) and any of ($comp*) and any of ($in*)
}
