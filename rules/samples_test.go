package rules

import (
	"context"
	"path"
	"testing"

	"github.com/spoor-hunt/spoor/internal/detect"
	"github.com/spoor-hunt/spoor/internal/event"
	"github.com/spoor-hunt/spoor/internal/shared"
	"github.com/spoor-hunt/spoor/internal/sigma"
	"github.com/spoor-hunt/spoor/internal/source"
)

// realSamples names, for the built-in rules written for issue #13 (what the
// Security, System, application and PowerShell logs show), a real recording under
// ../shared/datasets in which the rule must fire: the test cases beside each
// rule are made-up events, these are the attacks as Windows logged them.
// Rules with no public recording of their technique in the shared data are
// not listed (docs/BUILTIN_RULES_EVALUATION.md says which).
var realSamples = []struct{ rule, sample string }{
	{"windows/builtin/application/win_application_lsass_silent_process_exit.yml", "evtx-attack-samples/Credential Access/LsassSilentProcessExit_process_exit_monitor_3001_lsass.evtx"},
	{"windows/builtin/application/win_application_ntds_database_unusual_path.yml", "evtx-attack-samples/Credential Access/dc_applog_ntdsutil_dfir_325_326_327.evtx"},
	{"windows/builtin/application/win_msi_install_from_url.yml", "evtx-attack-samples/Execution/rogue_msi_url_1040_1042.evtx"},
	{"windows/builtin/application/win_mssql_xp_cmdshell_enabled.yml", "evtx-attack-samples/Defense Evasion/DE_xp_cmdshell_enabled_MSSQL_EID_15457.evtx"},
	{"windows/builtin/application/win_mssql_xp_cmdshell_executed.yml", "evtx-attack-samples/Lateral Movement/LM_xp_cmdshell_MSSQL_Events.evtx"},
	{"windows/builtin/application/win_mssql_xp_cmdshell_remote_client.yml", "evtx-attack-samples/Lateral Movement/LM_xp_cmdshell_MSSQL_Events.evtx"},
	{"windows/builtin/application/win_mssql_xp_cmdshell_executed.yml", "evtx-attack-samples/Lateral Movement/MSSQL_15281_xp_cmdshell_exec_failed_attempt.evtx"},
	{"windows/builtin/application_experience/win_application_experience_shim_on_accessibility_program.yml", "evtx-attack-samples/Persistence/Persistence_Shime_Microsoft-Windows-Application-Experience_Program-Telemetry_500.evtx"},
	{"windows/builtin/application_experience/win_pca_control_panel_applet_user_folder.yml", "evtx-attack-samples/Execution/Exec_via_cpl_Application_Experience_EventID_17_ControlPanelApplet.evtx"},
	{"windows/builtin/bits_client/win_bits_client_job_by_unusual_process.yml", "evtx-attack-samples/Command and Control/bits_openvpn.evtx"},
	{"windows/builtin/bits_client/win_bits_client_job_by_unusual_process.yml", "evtx-attack-samples/Execution/windows_bits_4_59_60_lolbas desktopimgdownldr.evtx"},
	{"windows/builtin/bits_client/win_bits_client_job_local_or_raw_ip_source.yml", "evtx-attack-samples/Persistence/persist_bitsadmin_Microsoft-Windows-Bits-Client-Operational.evtx"},
	{"windows/builtin/rdpcorets/win_rdpcorets_inbound_connection.yml", "evtx-attack-samples/Lateral Movement/dfir_rdpsharp_target_RdpCoreTs_168_68_131.evtx"},
	{"windows/builtin/security/win_security_admin_share_executable_write.yml", "evtx-attack-samples/Lateral Movement/LM_5145_Remote_FileCopy.evtx"},
	{"windows/builtin/security/win_security_admin_share_executable_write.yml", "evtx-attack-samples/Lateral Movement/LM_renamed_psexecsvc_5145.evtx"},
	{"windows/builtin/security/win_security_anonymous_ntlm_logon_from_loopback.yml", "evtx-attack-samples/Privilege Escalation/4624 LT3 AnonymousLogon Localhost - JuicyPotato.evtx"},
	{"windows/builtin/security/win_security_audit_policy_removed.yml", "security-datasets/datasets/atomic/windows/defense_evasion/host/auditpol_system_user_auditpolicy_modification.zip"},
	{"windows/builtin/security/win_security_boot_config_debug_or_testsigning.yml", "evtx-attack-samples/Defense Evasion/DE_KernelDebug_and_TestSigning_ON_Security_4826.evtx"},
	{"windows/builtin/security/win_security_browser_credential_store_access.yml", "evtx-attack-samples/Credential Access/CA_chrome_firefox_opera_4663.evtx"},
	{"windows/builtin/security/win_security_computer_account_renamed_no_dollar.yml", "evtx-attack-samples/Privilege Escalation/samaccount_spoofing_CVE-2021-42287_CVE-2021-42278_DC_securitylogs.evtx"},
	{"windows/builtin/security/win_security_computer_password_set_anonymous.yml", "evtx-attack-samples/Credential Access/Zerologon_VoidSec_CVE-2020-1472_4626_LT3_Anonym_follwedby_4742_DC_Anony_DC.evtx"},
	{"windows/builtin/security/win_security_dcshadow_replication_spn.yml", "evtx-attack-samples/Persistence/persistence_security_dcshadow_4742.evtx"},
	{"windows/builtin/security/win_security_debug_privilege_enabled_unusual.yml", "evtx-attack-samples/Privilege Escalation/win10_4703_SeDebugPrivilege_enabled.evtx"},
	{"windows/builtin/security/win_security_domain_root_acl_modified.yml", "evtx-attack-samples/Persistence/DACL_DCSync_Right_Powerview_ Add-DomainObjectAcl.evtx"},
	{"windows/builtin/security/win_security_domain_root_acl_modified.yml", "evtx-attack-samples/Privilege Escalation/privexchange_dirkjan.evtx"},
	{"windows/builtin/security/win_security_dpapi_backup_key_pipe.yml", "evtx-attack-samples/Credential Access/CA_protectedstorage_5145_rpc_masterkey.evtx"},
	{"windows/builtin/security/win_security_ds_object_write_dac.yml", "evtx-attack-samples/Privilege Escalation/privexchange_dirkjan.evtx"},
	{"windows/builtin/security/win_security_dsrm_password_changed.yml", "evtx-attack-samples/Credential Access/4794_DSRM_password_change_t1098.evtx"},
	{"windows/builtin/security/win_security_eventlog_service_shutdown.yml", "security-datasets/datasets/atomic/windows/defense_evasion/host/cmd_psh_stop_netprofm_eventlog_after_reboot.zip"},
	{"windows/builtin/security/win_security_explicit_credentials_remote_admin_tool.yml", "evtx-attack-samples/Lateral Movement/LM_WMIC_4648_rpcss.evtx"},
	{"windows/builtin/security/win_security_explicit_credentials_server_process.yml", "evtx-attack-samples/Privilege Escalation/Runas_4624_4648_Webshell_CreateProcessAsUserA.evtx"},
	{"windows/builtin/security/win_security_gpo_modified.yml", "evtx-attack-samples/Credential Access/ACL_ForcePwd_SPNAdd_User_Computer_Accounts.evtx"},
	{"windows/builtin/security/win_security_interactive_logon_custom_logon_process.yml", "evtx-attack-samples/Credential Access/CA_4624_4625_LogonType2_LogonProc_chrome.evtx"},
	{"windows/builtin/security/win_security_kerberos_logon_from_loopback_user.yml", "evtx-attack-samples/Privilege Escalation/privesc_KrbRelayUp_windows_4624.evtx"},
	{"windows/builtin/security/win_security_local_group_enumeration_by_tool.yml", "evtx-attack-samples/Discovery/4799_remote_local_groups_enumeration.evtx"},
	{"windows/builtin/security/win_security_local_group_enumeration_by_tool.yml", "evtx-attack-samples/Discovery/discovery_local_user_or_group_windows_security_4799_4798.evtx"},
	{"windows/builtin/security/win_security_logon_new_credentials_seclogo.yml", "evtx-attack-samples/Privilege Escalation/Invoke_TokenDuplication_UAC_Bypass4624.evtx"},
	{"windows/builtin/security/win_security_lsass_handle_request.yml", "evtx-attack-samples/Credential Access/CA_hashdump_4663_4656_lsass_access.evtx"},
	{"windows/builtin/security/win_security_network_share_added.yml", "evtx-attack-samples/Lateral Movement/net_share_drive_5142.evtx"},
	{"windows/builtin/security/win_security_password_reset_by_other.yml", "security-datasets/datasets/atomic/windows/lateral_movement/host/empire_wmic_add_user_backdoor.zip"},
	{"windows/builtin/security/win_security_rdp_logon_from_loopback.yml", "evtx-attack-samples/Command and Control/DE_RDP_Tunneling_4624.evtx"},
	{"windows/builtin/security/win_security_remote_exec_tool_pipe.yml", "evtx-attack-samples/Lateral Movement/LM_renamed_psexecsvc_5145.evtx"},
	{"windows/builtin/security/win_security_remote_registry_pipe.yml", "evtx-attack-samples/Discovery/discovery_psloggedon.evtx"},
	{"windows/builtin/security/win_security_remote_service_control_pipe.yml", "evtx-attack-samples/Lateral Movement/LM_Remote_Service01_5145_svcctl.evtx"},
	{"windows/builtin/security/win_security_remote_spooler_pipe_user.yml", "evtx-attack-samples/Lateral Movement/spoolsample_5145.evtx"},
	{"windows/builtin/security/win_security_remote_task_scheduler_pipe.yml", "evtx-attack-samples/Lateral Movement/LM_ScheduledTask_ATSVC_target_host.evtx"},
	{"windows/builtin/security/win_security_sam_lsa_pipe_enumeration.yml", "evtx-attack-samples/Discovery/discovery_bloodhound.evtx"},
	{"windows/builtin/security/win_security_sam_privileged_group_queried.yml", "evtx-attack-samples/Discovery/dicovery_4661_net_group_domain_admins_target.evtx"},
	{"windows/builtin/security/win_security_scheduled_task_by_service_account.yml", "evtx-attack-samples/Privilege Escalation/PrivEsc_SeImpersonatePriv_enabled_back_for_upnp_localsvc_4698.evtx"},
	{"windows/builtin/security/win_security_scheduled_task_suspicious_action.yml", "evtx-attack-samples/Lateral Movement/remote task update 4624 4702 same logonid.evtx"},
	{"windows/builtin/security/win_security_service_account_loopback_pipe_access.yml", "evtx-attack-samples/Privilege Escalation/PrivEsc_NetSvc_SessionToken_Retrival_via_localSMB_Auth_5145.evtx"},
	{"windows/builtin/security/win_security_service_install_pipe_impersonation.yml", "security-datasets/datasets/atomic/windows/other/aptsimulator_cobaltstrike.zip"},
	{"windows/builtin/security/win_security_sid_history_added.yml", "evtx-attack-samples/Privilege Escalation/4765_sidhistory_add_t1178.evtx"},
	{"windows/builtin/security/win_security_transaction_by_program_in_writable_folder.yml", "evtx-attack-samples/Defense Evasion/Win_4985_T1186_Process_Doppelganging.evtx"},
	{"windows/builtin/security/win_security_user_account_created.yml", "deepbluecli/evtx/new-user-security.evtx"},
	{"windows/builtin/security/win_security_user_account_enabled.yml", "security-datasets/datasets/atomic/windows/defense_evasion/host/empire_scm_dll_hijack_ikeext.tar.gz"},
	{"windows/builtin/security/win_security_user_account_named_like_computer.yml", "evtx-attack-samples/Defense Evasion/DE_Fake_ComputerAccount_4720.evtx"},
	{"windows/builtin/security/win_security_wfp_rdp_over_loopback.yml", "evtx-attack-samples/Command and Control/DE_RDP_Tunnel_5156.evtx"},
	{"windows/builtin/system/win_system_dcom_remote_launch_lateral_object.yml", "evtx-attack-samples/Lateral Movement/LM_dcom_shwnd_shbrwnd_mmc20_failed_traces_system_10016.evtx"},
	{"windows/builtin/system/win_system_eventlog_service_stopped_or_disabled.yml", "deepbluecli/evtx/disablestop-eventlog.evtx"},
	{"windows/builtin/system/win_system_netlogon_secure_channel_auth_failed.yml", "evtx-attack-samples/Credential Access/Zerologon_CVE-2020-1472_DFIR_System_NetLogon_Error_EventID_5805.evtx"},
	{"windows/builtin/system/win_system_service_install_bare_program_name.yml", "evtx-attack-samples/Lateral Movement/LM_Remote_Service02_7045.evtx"},
	{"windows/builtin/system/win_system_service_install_pipe_impersonation.yml", "evtx-attack-samples/Privilege Escalation/System_7045_namedpipe_privesc.evtx"},
	{"windows/builtin/terminalservices/win_terminalservices_rdp_auth_from_loopback.yml", "evtx-attack-samples/Command and Control/DE_RDP_Tunneling_TerminalServices-RemoteConnectionManagerOperational_1149.evtx"},
	{"windows/builtin/winrm/win_winrm_ntlm_authentication.yml", "evtx-attack-samples/Lateral Movement/RemotePowerShell_MS_Windows-Remote_Management_EventID_169.evtx"},
	{"windows/builtin/winrm/win_winrm_remote_shell_created.yml", "evtx-attack-samples/Lateral Movement/LM_winrm_target_wrmlogs_91_wsmanShellStarted_poorLog.evtx"},
	{"windows/create_remote_thread/create_remote_thread_win_unbacked_start_address.yml", "evtx-attack-samples/Defense Evasion/meterpreter_migrate_to_explorer_sysmon_8.evtx"},
	{"windows/file_change/file_change_win_timestomp_script_or_startup.yml", "evtx-attack-samples/Defense Evasion/sysmon_2_11_evasion_timestomp_MACE.evtx"},
	{"windows/image_load/image_load_win_renamed_windows_program_image.yml", "evtx-attack-samples/Defense Evasion/DE_ProcessHerpaderping_Sysmon_11_10_1_7.evtx"},
	{"windows/image_load/image_load_win_unsigned_dll_in_system_folder.yml", "evtx-attack-samples/Privilege Escalation/sysmon_11_1_7_uacbypass_cliconfg.evtx"},
	{"windows/image_load/image_load_win_unsigned_dll_in_system_folder.yml", "evtx-attack-samples/Privilege Escalation/sysmon_1_7_elevate_uacbypass_sysprep.evtx"},
	{"windows/pipe_created/pipe_created_win_kekeo_pipe.yml", "evtx-attack-samples/Credential Access/sysmon17_18_kekeo_tsssp_default_np.evtx"},
	{"windows/file_event/file_event_win_executable_written_over_smb.yml", "evtx-attack-samples/Lateral Movement/lateral_movement_startup_3_11.evtx"},
	{"windows/file_event/file_event_win_executable_written_over_smb.yml", "evtx-attack-samples/Lateral Movement/remote_file_copy_system_proc_file_write_sysmon_11.evtx"},
	{"windows/file_event/file_event_win_executable_written_over_smb.yml", "security-datasets/datasets/atomic/windows/lateral_movement/host/covenant_copy_smb_CreateRequest.zip"},
	{"windows/file_event/file_event_win_mstsc_writes_executable.yml", "evtx-attack-samples/Lateral Movement/LM_tsclient_startup_folder.evtx"},
	{"windows/image_load/image_load_win_rdp_activex_unusual_process.yml", "evtx-attack-samples/Lateral Movement/sharprdp_sysmon_7_mstscax.dll.evtx"},
	{"windows/image_load/image_load_win_system_process_dll_from_share.yml", "evtx-attack-samples/Lateral Movement/LM_ImageLoad_NFSH_Sysmon_7.evtx"},
	{"windows/network_connection/net_connection_win_explorer_inbound_remote.yml", "evtx-attack-samples/Lateral Movement/LM_sysmon_3_DCOM_ShellBrowserWindow_ShellWindows.evtx"},
	{"windows/network_connection/net_connection_win_explorer_inbound_remote.yml", "security-datasets/datasets/atomic/windows/lateral_movement/host/empire_dcom_shellwindows_stager.zip"},
	{"windows/network_connection/net_connection_win_powershell_ldap_query.yml", "evtx-attack-samples/Discovery/discovery_sysmon_3_Invoke_UserHunter_SourceMachine.evtx"},
	{"windows/network_connection/net_connection_win_powershell_ldap_query.yml", "security-datasets/datasets/atomic/windows/defense_evasion/host/empire_powerview_ldap_ntsecuritydescriptor.zip"},
	{"windows/network_connection/net_connection_win_powershell_remote_rpc.yml", "evtx-attack-samples/Lateral Movement/LM_sysmon_remote_task_src_powershell.evtx"},
	{"windows/network_connection/net_connection_win_powershell_remote_rpc.yml", "security-datasets/datasets/atomic/windows/lateral_movement/host/empire_psexec_dcerpc_tcp_svcctl.zip"},
	{"windows/network_connection/net_connection_win_web_server_to_remote_access_port.yml", "evtx-attack-samples/Command and Control/tunna_iis_rdp_smb_tunneling_sysmon_3.evtx"},
	{"windows/pipe_created/pipe_created_win_pipe_path_impersonation.yml", "evtx-attack-samples/Privilege Escalation/EfsPotato_sysmon_17_18_privesc_seimpersonate_to_system.evtx"},
	{"windows/pipe_created/pipe_created_win_pipe_path_impersonation.yml", "evtx-attack-samples/Privilege Escalation/privesc_roguepotato_sysmon_17_18.evtx"},
	{"windows/pipe_created/pipe_created_win_remote_exec_tool_pipe.yml", "evtx-attack-samples/Defense Evasion/DE_renamed_psexec_service_sysmon_17_18.evtx"},
	{"windows/pipe_created/pipe_created_win_renamed_psexec_service_pipe.yml", "evtx-attack-samples/Defense Evasion/DE_renamed_psexec_service_sysmon_17_18.evtx"},
	{"windows/powershell/powershell_script/posh_ps_credential_prompt_plaintext.yml", "evtx-attack-samples/Credential Access/phish_windows_credentials_powershell_scriptblockLog_4104.evtx"},
	{"windows/powershell/powershell_script/posh_ps_lsass_minidump.yml", "evtx-attack-samples/Credential Access/Powershell_4104_MiniDumpWriteDump_Lsass.evtx"},
	{"windows/process_access/proc_access_win_parent_spoofing_full_access.yml", "evtx-attack-samples/Defense Evasion/sysmon_10_1_ppid_spoofing.evtx"},
	{"windows/process_access/proc_access_win_remote_access_tool_memory_read.yml", "evtx-attack-samples/Credential Access/CA_teamviewer-dumper_sysmon_10.evtx"},
	{"windows/process_creation/proc_creation_win_accessibility_program_spawns_shell.yml", "evtx-attack-samples/Persistence/persistence_accessibility_features_osk_sysmon1.evtx"},
	{"windows/process_creation/proc_creation_win_auto_elevated_program_from_user_folder.yml", "evtx-attack-samples/Privilege Escalation/UACME_59_Sysmon.evtx"},
	{"windows/process_creation/proc_creation_win_bits_notify_command.yml", "evtx-attack-samples/Persistence/sysmon_1_persist_bitsjob_SetNotifyCmdLine.evtx"},
	{"windows/process_creation/proc_creation_win_mmc_spawns_shell.yml", "evtx-attack-samples/Lateral Movement/LM_impacket_docmexec_mmc_sysmon_01.evtx"},
	{"windows/process_creation/proc_creation_win_mmc_spawns_shell.yml", "evtx-attack-samples/Privilege Escalation/Sysmon_UACME_39.evtx"},
	{"windows/process_creation/proc_creation_win_mshta_dcom_embedding.yml", "evtx-attack-samples/Lateral Movement/LM_DCOM_MSHTA_LethalHTA_Sysmon_3_1.evtx"},
	{"windows/process_creation/proc_creation_win_smss_unusual_child.yml", "evtx-attack-samples/Persistence/sysmon_1_smss_child_proc_bootexecute_setupexecute.evtx"},
	{"windows/process_creation/proc_creation_win_winrm_host_spawns_process.yml", "evtx-attack-samples/Lateral Movement/LM_winrm_exec_sysmon_1_winrshost.evtx"},
	{"windows/process_creation/proc_creation_win_wusa_extract_to_windows_folder.yml", "evtx-attack-samples/Privilege Escalation/sysmon_11_1_15_WScriptBypassUAC.evtx"},
	{"windows/process_creation/proc_creation_win_wusa_extract_to_windows_folder.yml", "evtx-attack-samples/Privilege Escalation/sysmon_1_7_11_sysprep_uacbypass.evtx"},
	{"windows/registry_add/registry_add_win_local_account_created.yml", "evtx-attack-samples/Persistence/sysmon_local_account_creation_and_added_admingroup_12_13.evtx"},
	{"windows/registry_event/registry_event_win_powershell_lockdown_policy_removed.yml", "evtx-attack-samples/Defense Evasion/DE_Powershell_CLM_Disabled_Sysmon_12.evtx"},
	{"windows/registry_set/registry_set_win_directinput_by_program_in_user_folder.yml", "evtx-attack-samples/Credential Access/sysmon_13_keylogger_directx.evtx"},
	{"windows/registry_set/registry_set_win_ieak_pending_gpo.yml", "evtx-attack-samples/Persistence/persistence_pendingGPO_sysmon_13.evtx"},
	{"windows/registry_set/registry_set_win_powershell_execution_policy_unrestricted.yml", "evtx-attack-samples/Defense Evasion/de_powershell_execpolicy_changed_sysmon_13.evtx"},
	{"windows/registry_set/registry_set_win_registry_symbolic_link_created.yml", "evtx-attack-samples/Privilege Escalation/privesc_registry_symlink_CVE-2020-1377.evtx"},
	{"windows/registry_set/registry_set_win_sam_user_f_value_by_other_process.yml", "evtx-attack-samples/Persistence/persist_valid_account_guest_rid_hijack.evtx"},
	{"windows/registry_set/registry_set_win_uac_bypass_shell_open_command.yml", "evtx-attack-samples/Privilege Escalation/UACME_61_Changepk.evtx"},
	{"windows/registry_set/registry_set_win_uac_disabled.yml", "evtx-attack-samples/Defense Evasion/DE_UAC_Disabled_Sysmon_12_13.evtx"},
	{"windows/registry_set/registry_set_win_update_orchestrator_uscheduler_cmdline.yml", "evtx-attack-samples/Privilege Escalation/PrivEsc_CVE-2020-1313_Sysmon_13_UScheduler_Cmdline.evtx"},
	{"windows/registry_set/registry_set_win_user_com_server_in_writable_folder.yml", "evtx-attack-samples/Persistence/persist_firefox_comhijack_sysmon_11_13_7_1.evtx"},
	{"windows/registry_set/registry_set_win_volatile_environment_systemroot.yml", "evtx-attack-samples/Privilege Escalation/sysmon_13_1_12_11_perfmonUACBypass.evtx"},
	{"windows/sysmon/sysmon_eventlog_service_crash_report.yml", "evtx-attack-samples/Defense Evasion/DE_EventLog_Service_Crashed.evtx"},
	{"windows/process_creation/proc_creation_win_browser_spawns_shell.yml", "evtx-attack-samples/Execution/exec_driveby_cve-2018-15982_sysmon_1_10.evtx"},
	{"windows/process_creation/proc_creation_win_exec_from_rdp_client_drive.yml", "evtx-attack-samples/Lateral Movement/LM_sysmon_1_12_13_3_tsclient_SharpRdp.evtx"},
	{"windows/process_creation/proc_creation_win_msi_custom_action_spawns_shell.yml", "evtx-attack-samples/Execution/Exec_sysmon_meterpreter_reversetcp_msipackage.evtx"},
	{"windows/process_creation/proc_creation_win_script_engine_renamed_host.yml", "evtx-attack-samples/Execution/exec_sysmon_1_7_jscript9_defense_evasion.evtx"},
	{"windows/registry_set/registry_set_win_file_share_added.yml", "evtx-attack-samples/Lateral Movement/LM_NewShare_Added_Sysmon_12_13.evtx"},
	{"windows/registry_set/registry_set_win_null_session_pipes_modified.yml", "evtx-attack-samples/Lateral Movement/LM_add_new_namedpipe_tp_nullsession_registry_turla_like_ttp.evtx"},
	{"windows/registry_set/registry_set_win_service_value_unc_path.yml", "evtx-attack-samples/Lateral Movement/LM_regsvc_DirectoryServiceExtPt_Lsass_NTDS_AdamXpn.evtx"},
	{"windows/channel/win_rpc_netlogon_password_set_unauthenticated.yml", "evtx-attack-samples/Credential Access/etw_rpc_zerologon.evtx"},
	{"windows/channel/win_winsock_lsp_installed.yml", "evtx-attack-samples/Persistence/Persistence_Winsock_Catalog Change EventId_1.evtx"},
	{"windows/network_connection/net_connection_win_rdp_inbound_remote.yml", "evtx-attack-samples/Lateral Movement/LM_sysmon_3_12_13_1_SharpRDP.evtx"},
	{"windows/network_connection/net_connection_win_rdp_inbound_remote.yml", "security-datasets/datasets/atomic/windows/credential_access/host/rdp_interactive_taskmanager_lsass_dump.zip"},
	{"windows/pipe_created/pipe_created_win_eventlog_connected_over_smb.yml", "evtx-attack-samples/Defense Evasion/DE_remote_eventlog_svc_crash_byt3bl33d3r_sysmon_17_1_3.evtx"},
	{"windows/pipe_created/pipe_created_win_remote_exec_pipe_local_client.yml", "evtx-attack-samples/Privilege Escalation/sysmon_privesc_psexec_dwell.evtx"},
	{"windows/pipe_created/pipe_created_win_remote_exec_pipe_local_client.yml", "evtx-attack-samples/Defense Evasion/DE_renamed_psexec_service_sysmon_17_18.evtx"},
	{"windows/pipe_created/pipe_created_win_remote_exec_pipe_local_client.yml", "security-datasets/datasets/atomic/windows/credential_access/host/cmd_psexec_lsa_secrets_dump.zip"},
	{"windows/pipe_created/pipe_created_win_srvsvc_connected_over_smb.yml", "evtx-attack-samples/Discovery/discovery_enum_shares_target_sysmon_3_18.evtx"},
	{"windows/pipe_created/pipe_created_win_srvsvc_connected_over_smb.yml", "evtx-attack-samples/Discovery/discovery_sysmon_18_Invoke_UserHunter_NetSessionEnum_DC-srvsvc.evtx"},
	{"windows/pipe_created/pipe_created_win_unknown_pipe_connected_over_smb.yml", "evtx-attack-samples/Lateral Movement/lm_sysmon_18_remshell_over_namedpipe.evtx"},
	{"windows/pipe_created/pipe_created_win_unknown_pipe_connected_over_smb.yml", "evtx-attack-samples/Defense Evasion/faxhell_sysmon_7_1_18_3_bindshell_dllhijack.evtx"},
	{"windows/process_access/proc_access_win_suspend_resume_only.yml", "evtx-attack-samples/Defense Evasion/process_suspend_sysmon_10_ga_800.evtx"},
	{"windows/process_creation/proc_creation_win_renamed_regsvr32_remote_scriptlet.yml", "evtx-attack-samples/Execution/exec_sysmon_1_lolbin_renamed_regsvr32_scrobj.evtx"},
	{"windows/process_creation/proc_creation_win_proxy_binary_spawns_shell.yml", "evtx-attack-samples/Execution/evasion_execution_imageload_wuauclt_lolbas.evtx"},
	{"windows/process_creation/proc_creation_win_proxy_binary_spawns_shell.yml", "evtx-attack-samples/Execution/exec_msxsl_xsl_sysmon_1_7.evtx"},
	{"windows/process_creation/proc_creation_win_proxy_binary_spawns_shell.yml", "security-datasets/datasets/atomic/windows/defense_evasion/host/empire_launcher_sct_regsvr32.zip"},
}

// TestRulesOnRealSamples runs each rule of realSamples alone, through the
// real engine and the default pipeline, over its recording, which is read
// as spoor hunt reads it (EVTX, or the JSON inside a zip): the rule must
// fire at least once.
func TestRulesOnRealSamples(t *testing.T) {
	all := loadAll(t)
	for _, s := range realSamples {
		t.Run(path.Base(s.rule)+"/"+path.Base(s.sample), func(t *testing.T) {
			l, ok := all[s.rule]
			if !ok {
				t.Fatalf("no rule %s", s.rule)
			}
			eng, errs := detect.Compile([]*sigma.Rule{l.rule}, nil, detect.Options{})
			for _, err := range errs {
				t.Fatalf("compile: %v", err)
			}
			sample := shared.Path(t, "datasets", s.sample)
			m := eng.NewMatcher()
			hits, events := 0, 0
			sum, err := source.Run(context.Background(), []string{sample}, source.Options{Workers: 1},
				func(_ int, ev *event.Event) error {
					events++
					hits += len(m.Match(ev, nil))
					return nil
				})
			if err != nil {
				t.Fatal(err)
			}
			if events == 0 {
				t.Fatalf("%s: no events read (%+v)", s.sample, sum)
			}
			if hits == 0 {
				t.Errorf("%s: got no detection in %d events, want at least one", s.sample, events)
			}
		})
	}
}
