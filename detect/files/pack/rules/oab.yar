// The ProxyLogon (CVE-2021-27065) shell: the OAB virtual directory's
// settings exported by Reset-OABVirtualDirectory into a web folder, with
// a script element planted in ExternalUrl or InternalUrl. Own wording from
// detections.md sections 2.E and 5.

rule EXH_OAB_VirtualDirectory_Dump_Shell
{
    meta:
        exhunt_id = "EXH-YARA-03"
        description = "OAB virtual directory settings dump carrying a server-side script (ProxyLogon CVE-2021-27065 shell)"
        severity = "critical"
        stage = "write"
        campaign = "ProxyLogon"
        cve = "CVE-2021-27065, CVE-2021-26858"
        technique = "T1505.003, T1190"
        reference = "https://www.microsoft.com/security/blog/2021/03/02/hafnium-targeting-exchange-servers/"
    strings:
        $url1 = "ExternalUrl" nocase ascii wide
        $url2 = "InternalUrl" nocase ascii wide
        $prop1 = "OfflineAddressBooks" nocase ascii wide
        $prop2 = "InternalAuthenticationMethods" nocase ascii wide
        $prop3 = "ExtendedProtectionTokenChecking" nocase ascii wide
        $prop4 = "PollInterval" nocase ascii wide
        $prop5 = "RequireSSL" nocase ascii wide
        $script = /<script[^>]{0,100}runat\s*=\s*["']?server/ nocase ascii wide
    condition:
        filesize < 1MB and any of ($url*) and 2 of ($prop*) and $script
}
