<%@ Page Language="C#" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  string name = System.IO.Path.GetFileName(Request.QueryString["plugin"] ?? "default");
  var asm = System.Reflection.Assembly.Load(System.IO.File.ReadAllBytes(Server.MapPath("~/bin/plugins/" + name + ".dll")));
  var widget = asm.CreateInstance("Widgets." + name);
}
</script>
