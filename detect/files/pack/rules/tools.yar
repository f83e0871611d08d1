// File-manager and database shells: a page with inline code that walks the
// server's drives, or runs SQL text typed into it, for whoever calls it.
// Medium: admin tools look alike, but never on an Exchange server.

rule EXH_ASPX_File_Manager
{
    meta:
        exhunt_id = "EXH-YARA-08"
        description = "ASP.NET page browses the server's drives and serves, writes or deletes files for the request (file-manager shell)"
        severity = "medium"
        stage = "write"
        technique = "T1505.003, T1083"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $drives1 = "GetLogicalDrives" nocase
        $drives2 = /DriveInfo\s*\.\s*GetDrives/ nocase
        $op1 = "Response.WriteFile" nocase
        $op2 = "TransmitFile" nocase
        $op3 = /File\s*\.\s*(Delete|Copy|Move|WriteAllBytes|WriteAllText)\s*\(/ nocase
        $op4 = /\.SaveAs\s*\(/ nocase
        $op5 = /Directory\s*\.\s*(GetFiles|GetDirectories|Delete)\s*\(/ nocase
        $in1 = /Request\s*(\.\s*(Form|QueryString|Params|Item)\s*)?[\[\(]/ nocase
        $in2 = /\b\w+\.Text\b/ nocase
    condition:
        filesize < 2MB and any of ($page*) and any of ($drives*) and any of ($op*) and any of ($in*)
}

rule EXH_ASPX_SQL_Console
{
    meta:
        exhunt_id = "EXH-YARA-09"
        description = "ASP.NET page runs SQL text and a connection string taken from the request (database shell)"
        severity = "medium"
        stage = "write"
        technique = "T1505.003"
        reference = "https://attack.mitre.org/techniques/T1505/003/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $conn = /(ConnectionString\s*=|new\s+(System\.Data\.(SqlClient|OleDb|Odbc)\.)?(Sql|OleDb|Odbc)Connection\s*\()\s*(Request\s*(\.\s*(Form|QueryString|Params|Item)\s*)?[\[\(]|\w+\.Text\b)/ nocase
        $cmd = /new\s+(System\.Data\.(SqlClient|OleDb|Odbc)\.)?(Sql|OleDb|Odbc)Command\s*\(\s*(Request\s*(\.\s*(Form|QueryString|Params|Item)\s*)?[\[\(]|\w+\.Text\b)/ nocase
    condition:
        filesize < 2MB and any of ($page*) and $conn and $cmd
}

rule EXH_ASPX_Uploader
{
    meta:
        exhunt_id = "EXH-YARA-10"
        description = "ASP.NET page saves an uploaded file where the request or the page's own folder says (upload shell)"
        severity = "medium"
        stage = "write"
        technique = "T1505.003, T1105"
        reference = "https://attack.mitre.org/techniques/T1105/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $up1 = "Request.Files" nocase
        $up2 = "HttpPostedFile" nocase
        $up3 = ".PostedFile" nocase
        $dest1 = "Request.PhysicalPath" nocase
        $dest2 = /SaveAs\s*\(\s*(Request\s*(\.\s*(Form|QueryString|Params|Item)\s*)?[\[\(]|\w+\.Text\b|Server\.MapPath\s*\(\s*Request)/ nocase
        $dest3 = /Path\s*\.\s*Combine\s*\(\s*(Request\s*(\.\s*(Form|QueryString|Params|Item)\s*)?[\[\(]|\w+\.Text\b)/ nocase
        $dest4 = /Server\.MapPath\s*\(\s*["']\.["']\s*\)/ nocase
    condition:
        filesize < 2MB and any of ($page*) and any of ($up*) and any of ($dest*)
}

rule EXH_ASPX_Registry_Sweep
{
    meta:
        exhunt_id = "EXH-YARA-11"
        description = "ASP.NET page walks every registry hive (server reconnaissance shell)"
        severity = "medium"
        stage = "write"
        technique = "T1505.003, T1012"
        reference = "https://attack.mitre.org/techniques/T1012/"
    strings:
        $page1 = /<%@\s*(Page|WebHandler|WebService|Control)\b/ nocase
        $page2 = /runat\s*=\s*["']?server/ nocase
        $hive1 = "Registry.ClassesRoot"
        $hive2 = "Registry.CurrentConfig"
        $hive3 = "Registry.CurrentUser"
        $hive4 = "Registry.LocalMachine"
        $hive5 = "Registry.Users"
        $hive6 = "Registry.PerformanceData"
    condition:
        filesize < 2MB and any of ($page*) and 4 of ($hive*)
}
