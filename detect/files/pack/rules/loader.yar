// Encrypted assembly loaders: the server side of Godzilla, Behinder,
// SharPyShell and AntSword's C# mode. The page decrypts what the request
// sends (AES/Rijndael, XOR, base64) and loads it as a .NET assembly. Own
// rule from the tools' documented behaviour.

rule EXH_ASPX_Encrypted_Assembly_Loader
{
    meta:
        exhunt_id = "EXH-YARA-06"
        description = "ASP.NET page loads a .NET assembly decrypted from the request (Godzilla, Behinder, SharPyShell style)"
        severity = "high"
        stage = "write"
        technique = "T1505.003, T1620"
        reference = "https://attack.mitre.org/techniques/T1620/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $page3 = /<%[^@]/
        $load1 = /Assembly\s*\.\s*Load\s*\(/ nocase
        $load2 = /GetMethod\s*\(\s*"Load"/ nocase
        $crypt1 = "RijndaelManaged" nocase
        $crypt2 = "AesCryptoServiceProvider" nocase
        $crypt3 = /Aes\s*\.\s*Create\s*\(/ nocase
        $crypt4 = "CreateDecryptor" nocase
        $crypt5 = "FromBase64String" nocase
        $run1 = /CreateInstance\s*\(/ nocase
        $run2 = /\.Invoke\s*\(/ nocase
        $run3 = /\.Equals\s*\(\s*(this|Context|HttpContext\.Current)\s*\)/ nocase
        $in1 = /Request\s*(\.\s*(Form|QueryString|Params|Item|Headers|Cookies)\s*)?[\[\(]/ nocase
        $in2 = /Request\.(InputStream|BinaryRead)/ nocase
    condition:
        filesize < 2MB and any of ($page*) and any of ($load*) and any of ($crypt*) and any of ($run*) and any of ($in*)
}
