listen ${port}
%{ for h in hosts ~}
upstream ${h}
%{ endfor ~}
