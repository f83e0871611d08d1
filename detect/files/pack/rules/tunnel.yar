// HTTP tunnels (reGeorg, Neo-reGeorg and their variants): a page that opens
// raw sockets to a host and port named in request headers and relays
// bytes. Own rule from the tools' documented protocol.

rule EXH_ASPX_Socket_Tunnel
{
    meta:
        exhunt_id = "EXH-YARA-07"
        description = "ASP.NET page relays raw sockets for the request (reGeorg / Neo-reGeorg tunnel)"
        severity = "high"
        stage = "write"
        technique = "T1505.003, T1090.001"
        reference = "https://attack.mitre.org/techniques/T1090/001/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $sock1 = /new\s+(System\.Net\.Sockets\.)?Socket\s*\(/ nocase
        $sock2 = /new\s+(System\.Net\.Sockets\.)?TcpClient\s*\(/ nocase
        $hdr1 = /Request\.Headers(\.Get)?\s*[\[\(]/ nocase
        $hdr2 = "X-CMD" nocase
        $hdr3 = "X-TARGET" nocase
        $verb1 = "\"CONNECT\""
        $verb2 = "\"DISCONNECT\""
        $verb3 = "\"FORWARD\""
        $georg = "Georg says" nocase
        $relay1 = /Request\.(InputStream|BinaryRead)/ nocase
        $relay2 = "Response.BinaryWrite" nocase
        $relay3 = /\.(Send|Receive)\s*\(/
    condition:
        filesize < 2MB and any of ($page*) and any of ($sock*) and (
            $georg or
            (any of ($hdr*) and 2 of ($verb*)) or
            ($hdr1 and 2 of ($relay*))
        )
}
