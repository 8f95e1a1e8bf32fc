# Installs the songcheck agent from the offline bundle as a Windows service (started at boot, whether or not
# anyone logs in). Run as Administrator, from the unpacked bundle:
#
#   powershell -ExecutionPolicy Bypass -File windows\install.ps1 -Collector https://songcheck.example.vn -Code K7QM-3XTP-9HWD
#
# Safe to run again (a Group Policy startup script runs it at every boot): when the same version is already
# installed and running it does nothing; a newer bundle replaces the agent and keeps its identity and data.
param(
  [string]$Collector,
  [string]$Code,
  [string]$Node = 'node.exe',
  [switch]$Reenroll
)
$ErrorActionPreference = 'Stop'

$principal = New-Object Security.Principal.WindowsPrincipal([Security.Principal.WindowsIdentity]::GetCurrent())
if (-not $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)) {
  Write-Error 'Run this as Administrator (right-click PowerShell, "Run as administrator").'
  exit 1
}

$bundle = Split-Path -Parent $PSScriptRoot
$agent = Join-Path $bundle 'songcheck-agent.mjs'
$wrapper = Join-Path $PSScriptRoot 'songcheck-agent-service.exe'
if (-not (Test-Path $agent)) { Write-Error "songcheck-agent.mjs not found in $bundle"; exit 1 }
if (-not (Test-Path $wrapper)) { Write-Error "songcheck-agent-service.exe not found in $PSScriptRoot"; exit 1 }

# The bundle is intact (a USB stick can corrupt a file).
$sums = Join-Path $bundle 'SHA256SUMS'
if (Test-Path $sums) {
  foreach ($line in Get-Content $sums) {
    if ($line -notmatch '^([0-9a-f]{64})  (.+)$') { continue }
    $file = Join-Path $bundle ($Matches[2] -replace '/', '\')
    $actual = (Get-FileHash -Algorithm SHA256 -Path $file).Hash.ToLower()
    if ($actual -ne $Matches[1]) { Write-Error "The bundle is damaged ($($Matches[2]) does not match SHA256SUMS): copy it again."; exit 1 }
  }
  Write-Output 'bundle checksums: ok'
}

$nodeCmd = Get-Command $Node -ErrorAction SilentlyContinue
if (-not $nodeCmd) {
  Write-Error 'Node.js is not installed: install Node.js 20 or newer (LTS, 64-bit MSI; silently: msiexec /i node-v20-x64.msi /qn).'
  exit 1
}
$nodeExe = $nodeCmd.Source
$major = [int](& $nodeExe -p 'process.versions.node.split(".")[0]')
if ($major -lt 20) { Write-Error "Node.js $(& $nodeExe --version) is too old: the agent needs 20 or newer."; exit 1 }

# Already installed at this version and running: nothing to do (a startup script runs this at every boot).
$installed = Join-Path $env:ProgramFiles 'songcheck\songcheck-agent.mjs'
$identity = Join-Path $env:ProgramData 'songcheck\identity.json'
$service = Get-Service -Name 'songcheck-agent' -ErrorAction SilentlyContinue
if ($service -and (Test-Path $installed) -and (Test-Path $identity) -and -not $Reenroll) {
  $have = & $nodeExe $installed --version
  $new = & $nodeExe $agent --version
  if ($have -eq $new -and $service.Status -eq 'Running') { Write-Output "songcheck-agent $have is installed and running."; exit 0 }
}

$nodeArgs = @($agent, 'service', 'install', '--winsw', $wrapper)
# An enrolled computer keeps its identity (an upgrade, or the same GPO script at the next boot); the code is
# used only the first time, or with -Reenroll.
if ((-not (Test-Path $identity)) -or $Reenroll) {
  if (-not $Collector -or -not $Code) { Write-Error 'This computer is not enrolled yet: give -Collector URL -Code CODE.'; exit 1 }
  $nodeArgs += @('--collector', $Collector, '--code', $Code)
}
& $nodeExe @nodeArgs
exit $LASTEXITCODE
