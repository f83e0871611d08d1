<%@ Page Language="C#" %>
<%@ Import Namespace="Microsoft.Win32" %>
<%
using (var k = Registry.LocalMachine.OpenSubKey(@"SOFTWARE\Example\App")) {
  Response.Write("Version " + (k == null ? "unknown" : k.GetValue("Version")));
}
%>
