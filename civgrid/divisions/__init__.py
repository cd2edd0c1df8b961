"""Administrative divisions (统计用区划代码): province → city → county → township → village."""
